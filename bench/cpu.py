"""CPU seconds spent on a measurement, which other work on a shared machine does not inflate.

Counts this process and, when PostgreSQL runs on this machine, the server processes serving
the scratch database (read from ``/proc``); ``None`` when the server's share cannot be seen.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from bench.scratch import admin_url, libpq

_TICKS = os.sysconf("SC_CLK_TCK")
# Server addresses whose processes this machine's /proc shows (None: a Unix socket).
LOCAL_HOSTS = (None, "", "localhost", "127.0.0.1", "::1")


class CpuClock:
    """Reads the CPU time used so far by this process and the database's server backends."""

    def __init__(self, engine: str, url: str) -> None:
        parsed = make_url(url)
        self._database = None if engine == "sqlite" else parsed.database
        self._visible = engine == "sqlite" or parsed.host in LOCAL_HOSTS
        self._start: dict[int, float] = {}

    def start(self) -> None:
        """Remember the server backends' CPU time at the start of the timed section."""
        self._start = (self._backends() if self._visible else None) or {}

    def elapsed(self, process_seconds: float) -> float | None:
        """``process_seconds`` plus what the server backends used since :meth:`start`."""
        if self._database is None:
            return process_seconds
        now = self._backends() if self._visible else None
        if now is None:
            return None
        server = sum(cpu - self._start.get(pid, 0.0) for pid, cpu in now.items())
        return process_seconds + server

    def _backends(self) -> dict[int, float] | None:
        if self._database is None:
            return {}
        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
        with psycopg.connect(libpq(admin_url()), autocommit=True) as conn:
            pids = [int(row[0]) for row in conn.execute(query, (self._database,))]
        found = {pid: process_cpu(pid) for pid in pids}
        if not pids or any(cpu is None for cpu in found.values()):
            return None
        return {pid: cpu for pid, cpu in found.items() if cpu is not None}


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a local process, or None when it is not visible here."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def process_time() -> float:
    """CPU seconds used by this process (all threads)."""
    return time.process_time()
