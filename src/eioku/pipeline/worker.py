"""``eioku worker``: execute queued runs from PostgreSQL with Procrastinate (SPEC §9).

Each job executes its stages of one run with :class:`~eioku.pipeline.runner.RunExecutor`,
on a store of its own (own engine and sessions), in a thread of the worker process; the
heavy engines release the GIL. Beside the jobs, every worker

- records a heartbeat every ``worker_heartbeat_seconds`` (Procrastinate's);
- looks for stalled jobs every ``worker_check_seconds`` and retries or fails them
  (:meth:`~eioku.pipeline.queue.JobQueue.recover_stalled`);
- turns a cancel (the run's status, or Procrastinate's abort request) into a stop of the
  executor within about a second;
- reconnects with backoff when the database goes away, instead of dying.

On SIGINT/SIGTERM a worker stops taking jobs, lets running ones go on for
``worker_shutdown_seconds``, then hands them back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import psycopg_pool
from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision
from procrastinate.exceptions import ConnectorException, JobAborted
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job
from procrastinate.worker import Worker
from sqlalchemy import make_url

from eioku.domain.errors import InvalidInput, NotFound, RunStateError, StorageError
from eioku.domain.runs import Run
from eioku.domain.schemas.registry import SchemaRegistry, load_registry
from eioku.media.decode import MediaError
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.queue import TASK_NAME, JobQueue, Routing, fail_stages
from eioku.pipeline.runner import RunExecutor, describe
from eioku.storage.store import Store, UnitOfWork

logger = logging.getLogger(__name__)

RECONNECT_MAX_SECONDS = 30.0
ABORT_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker process needs (built from Settings by the CLI)."""

    database_url: str
    model_dir: Path
    queues: tuple[str, ...] | None = None
    concurrency: int = 1
    routing: Routing = field(default_factory=Routing)
    path_map: tuple[str, ...] = ()
    heartbeat_seconds: float = 5.0
    stall_seconds: float = 30.0
    check_seconds: float = 15.0
    retries: int = 2
    backoff_seconds: int = 5
    shutdown_seconds: float = 10.0
    name: str = "eioku-worker"


def parse_path_map(entries: Sequence[str]) -> list[tuple[str, str]]:
    """``FROM=TO`` entries as (from, to) prefix pairs, longest prefix first.

    Raises:
        InvalidInput: an entry without ``=`` or with an empty side.
    """
    pairs = []
    for entry in entries:
        source, sep, target = entry.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise InvalidInput(
                f"path map entry {entry!r} is not FROM=TO (e.g. /srv/video=/mnt/video)"
            )
        pairs.append((source.strip().rstrip("/") or "/", target.strip().rstrip("/") or "/"))
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def path_locator(entries: Sequence[str]) -> Callable[[str], Path]:
    """Maps a stored video path to this machine's path and checks the file is there.

    The missing-file error says which host could not see which path, and how to map it.

    Raises:
        InvalidInput: a malformed map entry.
    """
    pairs = parse_path_map(entries)
    host = socket.gethostname()

    def locate(stored: str) -> Path:
        mapped = stored
        for source, target in pairs:
            if stored == source or stored.startswith(source.rstrip("/") + "/"):
                mapped = target + stored[len(source) :]
                break
        path = Path(mapped)
        if not path.exists():
            via = f" (stored as {stored}, mapped by EIOKU_PATH_MAP)" if mapped != stored else ""
            hint = "" if via else "; if the library is mounted elsewhere here, set EIOKU_PATH_MAP"
            raise MediaError(f"{path}: not found on worker host {host}{via}{hint}")
        return path

    return locate


def libpq_url(database_url: str) -> str:
    """The libpq connection string for a (SQLAlchemy-style) PostgreSQL URL."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class _Retries(BaseRetryStrategy):
    """Bounded exponential backoff, counting earlier jobs of the same run part too.

    A job that raised is retried ``retries`` times in all (Procrastinate's own attempts
    plus the attempt number carried over when recovery re-queued a stalled job).
    """

    def __init__(self, retries: int, backoff: int) -> None:
        self._retries = retries
        self._backoff = backoff

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        carried = job.task_kwargs.get("attempt", 0)
        tries = job.attempts + (carried if isinstance(carried, int) else 0) + 1
        if tries > self._retries:
            return None
        return RetryDecision(retry_in={"seconds": int(self._backoff**tries)})


@cache
def _registry() -> SchemaRegistry:
    return load_registry()


@dataclass(frozen=True)
class _Job:
    """One job being executed: its context and arguments."""

    context: JobContext
    run_id: str
    stages: list[str]
    attempt: int

    @property
    def tries(self) -> int:
        """Which try of this part of the run this is (1 = the first)."""
        return self.context.job.attempts + self.attempt + 1


class _JobRunner:
    """The task body: execute one job's stages of a run."""

    def __init__(self, config: WorkerConfig) -> None:
        self._config = config
        self._models = ModelLibrary(config.model_dir)
        self._locate = path_locator(config.path_map)
        self._jobs = JobQueue(config.routing)

    def __call__(
        self, context: JobContext, run_id: str, stages: list[str], attempt: int = 0
    ) -> str:
        job = _Job(context, run_id, list(stages), attempt)
        store = Store(self._config.database_url, _registry())
        cancel, release, done = threading.Event(), threading.Event(), threading.Event()
        watcher = threading.Thread(
            target=self._watch_abort,
            args=(context, cancel, release, done),
            name=f"eioku-abort-{context.job.id}",
            daemon=True,
        )
        watcher.start()
        try:
            return self._execute(store, job, cancel, release)
        finally:
            done.set()
            watcher.join()
            store.dispose()

    @staticmethod
    def _watch_abort(
        context: JobContext,
        cancel: threading.Event,
        release: threading.Event,
        done: threading.Event,
    ) -> None:
        """Turn Procrastinate's abort request into a stop of the executor."""
        while not done.wait(ABORT_POLL_SECONDS):
            reason = context.abort_reason()
            if reason is None:
                continue
            if reason is AbortReason.SHUTDOWN:
                release.set()
            cancel.set()
            return

    def _execute(
        self, store: Store, job: _Job, cancel: threading.Event, release: threading.Event
    ) -> str:
        queue = job.context.job.queue

        def hand_back(uow: UnitOfWork, run: Run) -> None:
            self._jobs.defer(uow, run, queue, job.stages, attempt=job.attempt)

        executor = RunExecutor(
            store,
            self._models,
            cancel=cancel,
            release=release,
            locate=self._locate,
            on_release=hand_back,
        )
        logger.info(
            "run %s: job %s starts %s (try %d)",
            job.run_id,
            job.context.job.id,
            ",".join(job.stages),
            job.tries,
        )
        try:
            outcome = executor.execute(job.run_id, job.stages)
        except (NotFound, RunStateError) as exc:
            logger.info("job for run %s: nothing to do (%s)", job.run_id, describe(exc))
            return "skipped"
        except Exception as exc:
            self._after_crash(store, job, exc)
            raise
        logger.info(
            "run %s: job %s ended, run %s", job.run_id, job.context.job.id, outcome.run.status.value
        )
        if release.is_set():
            return "handed back"
        if job.context.abort_reason() is AbortReason.USER_REQUEST:
            raise JobAborted(f"run {job.run_id} was cancelled")
        return outcome.run.status.value

    def _after_crash(self, store: Store, job: _Job, exc: Exception) -> None:
        """Put the run back for Procrastinate's retry, or fail it when none is left."""
        reason = f"attempt {job.tries} of {self._config.retries + 1} failed: {describe(exc)}"
        try:
            with store.unit_of_work() as uow:
                if job.tries > self._config.retries:
                    fail_stages(uow, job.run_id, job.stages, f"{reason}; no retries left")
                else:
                    uow.runs.requeue(job.run_id, job.stages, f"requeued: {reason}")
        except Exception as inner:  # the database may be what failed; recovery follows
            logger.warning("run %s: could not record the failure: %s", job.run_id, describe(inner))


class WorkerService:
    """One worker process: Procrastinate's worker plus recovery, reconnecting as needed."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._stopping = asyncio.Event()
        self._worker: Worker | None = None
        self._store = Store(config.database_url, _registry())
        self._jobs = JobQueue(config.routing)
        self._task = _JobRunner(config)

    def check(self) -> None:
        """Fail fast with one clear line when the database is unreachable or not migrated.

        Raises:
            StorageError: the database cannot be reached or its schema is not current.
        """
        self._store.ping()
        self._store.check_schema()

    def _app(self) -> App:
        connector = PsycopgConnector(
            conninfo=libpq_url(self.config.database_url),
            min_size=1,
            max_size=self.config.concurrency + 3,
            timeout=10.0,
        )
        app = App(connector=connector)
        app.task(
            name=TASK_NAME,
            pass_context=True,
            retry=_Retries(self.config.retries, self.config.backoff_seconds),
        )(self._task)
        return app

    def stop(self) -> None:
        """Stop taking jobs (signal handlers call this)."""
        self._stopping.set()
        if self._worker is not None:
            self._worker.stop()  # type: ignore[no-untyped-call]

    async def serve(self) -> None:
        """Run until stopped; a lost database connection is retried with backoff."""
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=self.config.concurrency + 4))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        delay = 1.0
        try:
            while not self._stopping.is_set():
                try:
                    await self._serve_once()
                    delay = 1.0
                except (
                    ConnectorException,
                    psycopg.Error,
                    psycopg_pool.PoolTimeout,
                    OSError,
                    StorageError,
                ) as exc:
                    if self._stopping.is_set():
                        break
                    logger.warning(
                        "database connection lost (%s); reconnecting in %.0f s",
                        describe(exc),
                        delay,
                    )
                    await self._sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                    continue
                if not self._stopping.is_set():
                    logger.warning("worker stopped by itself (database trouble?); restarting")
                    await self._sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        finally:
            self._store.dispose()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _serve_once(self) -> None:
        app = self._app()
        async with app.open_async():
            worker = Worker(
                app=app,
                queues=list(self.config.queues) if self.config.queues else None,
                name=self.config.name,
                concurrency=self.config.concurrency,
                shutdown_graceful_timeout=self.config.shutdown_seconds,
                install_signal_handlers=False,
                update_heartbeat_interval=self.config.heartbeat_seconds,
                stalled_worker_timeout=self.config.stall_seconds,
                abort_job_polling_interval=1.0,
            )
            self._worker = worker
            recovery = asyncio.create_task(self._recover_forever(), name="eioku-recovery")
            try:
                if self._stopping.is_set():
                    return
                await worker.run()  # type: ignore[no-untyped-call]
            finally:
                self._worker = None
                recovery.cancel()
                await asyncio.gather(recovery, return_exceptions=True)

    async def _recover_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.recover_once)
            except Exception as exc:  # the database may be away; try again next time
                logger.warning("stalled-job check failed: %s", describe(exc))
            await asyncio.sleep(self.config.check_seconds)

    def recover_once(self) -> list[Any]:
        """One look for stalled jobs (also run by tests and ``eioku worker``)."""
        with self._store.unit_of_work() as uow:
            return self._jobs.recover_stalled(
                uow,
                stall_seconds=self.config.stall_seconds,
                retries=self.config.retries,
                backoff=self.config.backoff_seconds,
            )
