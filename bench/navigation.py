"""The ``navigation`` suite: jump, find, global jump and gallery p50/p99 (SPEC §7, §11).

For each engine and size, a generated library (bench/nav_data.py) is queried from random
starting points: in-process through eioku.search on a read unit of work opened per query,
as the API does ("query" excludes opening and committing the unit of work, "with UoW"
includes it); over HTTP against a real ``eioku serve`` process on 127.0.0.1 with one
keep-alive httpx client; and, up to ``naive_max`` artifacts, the naive way (load the
video's selected artifacts, filter and sort in Python). No timing is asserted anywhere.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text

from bench.cpu import CpuClock, process_cpu, process_time
from bench.nav_data import Shape
from bench.nav_datasets import Dataset, dataset
from bench.nav_prewarm import Prewarmed, prewarm
from bench.nav_queries import CASES, Answer, Case, Probe, probes
from bench.nav_report import (
    TARGETS,
    Measured,
    Timings,
    dataset_table,
    latency_table,
    millis,
    percentile,
)
from bench.report import Table
from eioku.domain.errors import NotFound
from eioku.domain.schemas.registry import load_registry
from eioku.storage.store import Store

Say = Callable[[str], None]


@dataclass(frozen=True)
class NavOptions:
    """What to measure."""

    engines: tuple[str, ...]
    sizes: tuple[int, ...]
    queries: int = 2_000
    warmup: int = 200
    keep: Path | None = None
    http: bool = True
    naive_max: int = 1_000_000
    explain: bool = False
    prewarm: bool = False


def run(options: NavOptions, say: Say) -> tuple[list[Table], list[tuple[str, str]]]:
    """Measure every size on every engine; returns the tables (and no profiles)."""
    registry = load_registry()
    results = []
    for size in options.sizes:
        shape = Shape.for_total(size)
        targets = probes(shape, options.warmup + options.queries)
        for engine in options.engines:
            say(f"navigation: {engine}, {size:,} artifacts")
            with dataset(engine, shape, registry, options.keep, say) as data:
                warmed = prewarm(data.store) if options.prewarm else None
                if warmed is not None:
                    say(f"  read {warmed.megabytes:,.0f} MB into memory ({warmed.seconds:.0f} s)")
                results.append(_measure(data, targets, options, say, warmed))
    return [dataset_table(results), latency_table(results)], []


def _measure(
    data: Dataset,
    targets: Sequence[Probe],
    options: NavOptions,
    say: Say,
    warmed: Prewarmed | None,
) -> Measured:
    load = os.getloadavg()[0]
    found = []
    for case in CASES:
        timings = Timings(case.name, case.family)
        _in_process(data, case.indexed, targets, options.warmup, timings)
        if case.naive is not None and data.shape.total <= options.naive_max:
            timings.naive = _naive(data.store, case.naive, targets, options.warmup)
        say(f"    {case.name:<26} p99 {millis(percentile(timings.query, 99))} ms (query only)")
        if options.explain:
            _explain(data.store, case, targets, timings, say)
        found.append(timings)
    if options.http:
        _over_http(data, found, targets, options.warmup, say)
    return Measured(
        data.engine,
        data.shape,
        data.generated_seconds,
        _database_bytes(data),
        load,
        found,
        None if warmed is None else warmed.megabytes,
    )


def _in_process(
    data: Dataset, answer: Answer, targets: Sequence[Probe], warmup: int, into: Timings
) -> None:
    store, clock = data.store, time.perf_counter_ns
    for probe in targets[:warmup]:
        with store.lookup() as uow:
            _answered(answer, uow, probe)
    cpu = CpuClock(data.engine, data.url)
    cpu.start()
    process_started = process_time()
    with _counting(store) as statements:
        for probe in targets[warmup:]:
            opened = clock()
            with store.lookup() as uow:  # what the API's lookup routes use
                started = clock()
                into.matched += _answered(answer, uow, probe)
                finished = clock()
            closed = clock()
            into.query.append(finished - started)
            into.with_uow.append(closed - opened)
    into.cpu_seconds = cpu.elapsed(process_time() - process_started)
    into.statements = len(statements)


@contextmanager
def _counting(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every (statement, parameters) the store executes inside the block."""
    captured: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        captured.append((args[2], args[3]))

    for engine in store.engines:
        event.listen(engine, "before_cursor_execute", capture)
    try:
        yield captured
    finally:
        for engine in store.engines:
            event.remove(engine, "before_cursor_execute", capture)


def _answered(answer: Answer, uow: Any, probe: Probe) -> bool:
    """Whether the query found something: a 404 or an empty page is a miss."""
    try:
        found = answer(uow, probe)
    except NotFound:
        return False
    return not (isinstance(found, list) and not found)


def _naive(store: Store, answer: Answer, targets: Sequence[Probe], warmup: int) -> list[int]:
    clock = time.perf_counter_ns
    found = []
    for position, probe in enumerate(targets):
        with store.unit_of_work(write=False) as uow:
            started = clock()
            _answered(answer, uow, probe)
            finished = clock()
        if position >= warmup:
            found.append(finished - started)
    return found


def _over_http(
    data: Dataset, timings: list[Timings], targets: Sequence[Probe], warmup: int, say: Say
) -> None:
    cases = {case.name: case for case in CASES if case.http is not None}
    with _served(data.url) as (client, server):
        for timing in timings:
            case = cases.get(timing.case)
            if case is None or case.http is None:
                continue
            for probe in targets[:warmup]:
                _get(client, *case.http(probe))
            counted = _http_cpu(data, server)
            for probe in targets[warmup:]:
                timing.http.append(_get(client, *case.http(probe)))
            timing.http_cpu_seconds = counted()
            say(f"    {timing.case:<26} p99 {millis(percentile(timing.http, 99))} ms (HTTP)")


def _get(client: httpx.Client, path: str, params: dict[str, Any]) -> int:
    """Nanoseconds one GET took; a status other than 200 or 404 stops the benchmark."""
    started = time.perf_counter_ns()
    response = client.get(path, params=params)
    finished = time.perf_counter_ns()
    if response.status_code not in (200, 404):
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return finished - started


def _http_cpu(data: Dataset, server: int) -> Callable[[], float | None]:
    """Start counting CPU: this process (the client), the server process and the database's
    backends; the function returned gives the seconds they used since."""
    cpu = CpuClock(data.engine, data.url)
    cpu.start()
    client_started, server_started = process_time(), process_cpu(server)

    def counted() -> float | None:
        server_now = process_cpu(server)
        used = cpu.elapsed(process_time() - client_started)
        if used is None or server_now is None or server_started is None:
            return None
        return used + server_now - server_started

    return counted


@contextmanager
def _served(url: str) -> Iterator[tuple[httpx.Client, int]]:
    """A real ``eioku serve`` on a free loopback port, and a keep-alive client for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("eioku")), "--database-url", url]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        _wait_until_up(client, server)
        yield client, server.pid
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"eioku serve exited with status {server.returncode}")
        with suppress(httpx.TransportError):
            if client.get("/health").status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("eioku serve did not answer /health within 60 s")


def _explain(
    store: Store, case: Case, targets: Sequence[Probe], timings: Timings, say: Say
) -> None:
    """Print the plans of the statements behind the slowest query of a case over target."""
    target = TARGETS.get(case.family, (float("inf"), 0.0))[0]
    slowest = max(range(len(timings.query)), key=timings.query.__getitem__)
    if timings.query[slowest] / 1e6 <= target and percentile(timings.query, 99) <= target:
        return
    probe = targets[len(targets) - len(timings.query) + slowest]
    with _counting(store) as captured, store.unit_of_work(write=False) as uow:
        _answered(case.indexed, uow, probe)
    prefix = "EXPLAIN QUERY PLAN " if store.dialect == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    say(f"    plans of the slowest {case.name} ({timings.query[slowest] / 1e6:.2f} ms): {probe}")
    with store.unit_of_work(write=False) as uow:
        for statement, parameters in captured:
            rows = uow.connection.exec_driver_sql(prefix + statement, parameters).all()
            plan = "\n".join("      " + " ".join(str(v) for v in row) for row in rows)
            say(f"      {' '.join(statement.split())}\n      params {parameters}\n{plan}")


def _database_bytes(data: Dataset) -> int:
    """The whole database: the SQLite file (WAL checkpointed), or pg_database_size."""
    if data.engine == "sqlite":
        return Path(str(data.store.engine.url.database)).stat().st_size
    with data.store.unit_of_work(write=False) as uow:
        size = uow.connection.execute(text("SELECT pg_database_size(current_database())"))
        return int(size.scalar_one())
