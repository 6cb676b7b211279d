"""The one place that wires concrete classes together for the entry points."""

from __future__ import annotations

from eioku.config import Settings
from eioku.domain.errors import InvalidInput
from eioku.domain.schemas.registry import load_registry
from eioku.pipeline.dispatch import Dispatcher, LocalExecutor
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.queue import JobQueue, Routing
from eioku.pipeline.worker import WorkerConfig
from eioku.storage.store import Store


def build_store(settings: Settings) -> Store:
    """A store on the configured database with every registered payload schema."""
    return Store(settings.database_url, load_registry())


def build_models(settings: Settings) -> ModelLibrary:
    """Model lookup in the configured model directory."""
    return ModelLibrary(settings.model_dir)


def uses_workers(settings: Settings, store: Store) -> bool:
    """Whether runs go to ``eioku worker`` processes (EIOKU_EXECUTOR; auto: on PostgreSQL).

    Raises:
        InvalidInput: ``workers`` was asked for on SQLite.
    """
    on_postgres = store.dialect == "postgresql"
    if settings.executor == "workers" and not on_postgres:
        raise InvalidInput(
            "EIOKU_EXECUTOR=workers needs PostgreSQL; with SQLite, runs execute locally"
        )
    return settings.executor == "workers" or (settings.executor == "auto" and on_postgres)


def build_routing(settings: Settings) -> Routing:
    """Stage -> worker queue, from the settings."""
    return Routing(settings.default_queue, dict(settings.stage_queues))


def build_dispatcher(
    settings: Settings, store: Store, *, local: LocalExecutor | None = None
) -> Dispatcher:
    """The dispatcher for this configuration: a worker queue on PostgreSQL, else local.

    Args:
        settings: the configuration.
        store: where runs are stored (and, on PostgreSQL, queued).
        local: executes new runs when there are no workers (None: the caller does).
    """
    jobs = JobQueue(build_routing(settings)) if uses_workers(settings, store) else None
    return Dispatcher(
        store,
        build_models(settings),
        jobs=jobs,
        local=local,
        stall_seconds=settings.worker_stall_seconds,
    )


def build_worker_config(
    settings: Settings, *, queues: tuple[str, ...] | None, concurrency: int, name: str
) -> WorkerConfig:
    """What one ``eioku worker`` process runs with."""
    return WorkerConfig(
        database_url=settings.database_url,
        model_dir=settings.model_dir,
        queues=queues,
        concurrency=concurrency,
        routing=build_routing(settings),
        path_map=tuple(settings.path_map),
        heartbeat_seconds=settings.worker_heartbeat_seconds,
        stall_seconds=settings.worker_stall_seconds,
        check_seconds=settings.worker_check_seconds,
        retries=settings.job_retries,
        backoff_seconds=settings.job_retry_backoff_seconds,
        shutdown_seconds=settings.worker_shutdown_seconds,
        name=name,
    )
