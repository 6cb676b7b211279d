"""Waiting in tests for something another thread or process does (runs, watchers, workers)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], T],
    seconds: float = 60.0,
    logs: Callable[[], str] | None = None,
    *,
    interval: float = 0.1,
) -> T:
    """``check()``'s first truthy result, polled every ``interval`` s for up to ``seconds``.

    Raises:
        AssertionError: nothing truthy in time (with ``logs()`` appended when given).
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"not reached within {seconds} s\n{logs() if logs else ''}")


def finished_run(client: Any, run_id: str, seconds: float = 120.0) -> dict[str, Any]:
    """The run, read over HTTP with ``client``, once it reached a final status."""

    def final() -> dict[str, Any] | None:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        return run if run["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(final, seconds, interval=0.2)
