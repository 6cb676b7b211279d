"""Running queued runs in local worker processes (the embedded default, SPEC §9).

Each run executes in a worker process with its own store (own engine, own sessions), so
one run's crash or memory use cannot touch the server or another run. With PostgreSQL
and ``eioku worker`` the same runs go through the task queue instead.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from eioku.domain.schemas.registry import load_registry
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.runner import RunExecutor
from eioku.storage.store import Store

logger = logging.getLogger(__name__)


def execute_run(database_url: str, model_dir: str, run_id: str) -> str:
    """Execute one queued run in this process; returns the run's final status."""
    store = Store(database_url, load_registry())
    try:
        outcome = RunExecutor(store, ModelLibrary(Path(model_dir))).execute(run_id)
        return outcome.run.status.value
    finally:
        store.dispose()


class LocalRunQueue:
    """A pool of worker processes executing runs in submission order.

    Args:
        database_url: the store the workers open.
        model_dir: where the workers look for models.
        workers: how many runs execute at once.
    """

    def __init__(self, database_url: str, model_dir: Path, *, workers: int = 1) -> None:
        self._database_url = database_url
        self._model_dir = str(model_dir)
        context = multiprocessing.get_context("spawn")  # no inherited threads or connections
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def submit(self, run_id: str) -> Future[str]:
        """Queue a run (already stored as ``queued``) for execution."""
        future = self._pool.submit(execute_run, self._database_url, self._model_dir, run_id)
        future.add_done_callback(_log_failure)
        return future

    def shutdown(self) -> None:
        """Stop taking runs; wait for those executing."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _log_failure(future: Future[str]) -> None:
    exc = future.exception()
    if exc is not None:
        logger.error("a run's worker process failed: %s", exc)
