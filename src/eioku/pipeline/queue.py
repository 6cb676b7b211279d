"""The worker queue on PostgreSQL: one Procrastinate job per run and worker queue (SPEC §9).

A run's stages are split by queue (``stage_queues``, e.g. a GPU queue for ``objects``);
each part becomes one job whose arguments are the run id, the stages and the attempt
number. Jobs are written with the run in the caller's transaction (Procrastinate's
documented ``connection=`` option of ``defer``), so a run row never exists without its
jobs or the other way round.

Recovery lives here too: a job whose worker stopped sending heartbeats is *stalled*. In one
transaction, its run's running stages go back to pending, and either a new job is queued
for them after a backoff (the stalled one is marked failed, so a worker that was only
cut off and wakes up again can no longer finish it) or, once the retries are used up, the
stages and the run fail with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from procrastinate import App, SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Connection, column, func, select, table, text
from sqlalchemy.dialects.postgresql import ENUM, JSONB

from eioku.domain.errors import NotFound
from eioku.domain.runs import Run, RunStatus, StageStatus
from eioku.domain.videos import VideoStatus
from eioku.storage.store import UnitOfWork

logger = logging.getLogger(__name__)

TASK_NAME = "eioku.execute_run"
"""The one task every job runs: execute some stages of a run."""

__all__ = ["TASK_NAME", "AlreadyEnqueued", "JobCount", "JobQueue", "Routing", "StalledJob"]

_jobs = table(
    "procrastinate_jobs",
    column("id"),
    column("queue_name"),
    column("task_name"),
    column(
        "status",
        ENUM(
            "todo",
            "doing",
            "succeeded",
            "failed",
            "cancelled",
            "aborting",
            "aborted",
            name="procrastinate_job_status",
            create_type=False,
        ),
    ),
    column("args", JSONB),
    column("attempts"),
    column("worker_id"),
)
_workers = table("procrastinate_workers", column("id"), column("last_heartbeat"))
_ACTIVE_JOBS = ("todo", "doing")


@dataclass(frozen=True, slots=True)
class Routing:
    """Which worker queue each stage goes to.

    Attributes:
        default_queue: the queue of every stage ``stage_queues`` does not name.
        stage_queues: stage name -> queue name.
    """

    default_queue: str = "eioku"
    stage_queues: Mapping[str, str] | None = None

    def queue_of(self, stage: str) -> str:
        """The queue ``stage`` runs on."""
        return (self.stage_queues or {}).get(stage, self.default_queue)

    def split(self, stages: Sequence[str]) -> dict[str, list[str]]:
        """The stages grouped by queue, each group in run order (queues by first stage)."""
        groups: dict[str, list[str]] = {}
        for stage in stages:
            groups.setdefault(self.queue_of(stage), []).append(stage)
        return groups


@dataclass(frozen=True, slots=True)
class JobCount:
    """How many jobs of one queue are in one status."""

    queue: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class StalledJob:
    """A job recovery acted on, and what it did."""

    job_id: int
    run_id: str
    stages: tuple[str, ...]
    action: str  # "retried" or "failed"
    reason: str


def _driver(uow: UnitOfWork) -> Any:
    """The psycopg connection under the unit of work (its transaction is ours)."""
    return uow.connection.connection.driver_connection


def _backoff(base: int, attempt: int) -> int:
    """Seconds to wait before attempt ``attempt`` (1, 2, ...): ``base`` to that power."""
    return int(base**attempt)


class JobQueue:
    """Procrastinate jobs of runs, written and read in the store's own transactions.

    Args:
        routing: stage -> queue.
    """

    def __init__(self, routing: Routing) -> None:
        self.routing = routing
        # Never opened: every deferral passes the caller's connection, so no pool is made.
        self._app = App(connector=SyncPsycopgConnector())

    def enqueue(self, uow: UnitOfWork, run: Run, *, attempt: int = 0) -> list[int]:
        """Queue the run's stages, one job per queue, in ``uow``'s transaction.

        Raises:
            AlreadyEnqueued: the same run of the same stages is waiting already (the
                queueing lock; the transaction is then unusable and must be rolled back).
        """
        stages = [s.stage for s in run.stages if s.status is StageStatus.PENDING]
        return [
            self.defer(uow, run, queue, part, attempt=attempt)
            for queue, part in self.routing.split(stages).items()
        ]

    def defer(
        self,
        uow: UnitOfWork,
        run: Run,
        queue: str,
        stages: Sequence[str],
        *,
        attempt: int = 0,
        delay_seconds: int = 0,
    ) -> int:
        """Queue one job executing ``stages`` of ``run`` on ``queue``; returns its id."""
        lock = f"eioku:{run.asset_id}:{run.pipeline_profile.value}:{','.join(stages)}:{queue}"
        deferrer = self._app.configure_task(
            TASK_NAME,
            queue=queue,
            queueing_lock=lock,
            schedule_in={"seconds": delay_seconds} if delay_seconds else None,
            connection=_driver(uow),
        )
        job_id = deferrer.defer(run_id=run.run_id, stages=list(stages), attempt=attempt)
        logger.info(
            "queued job %s for run %s stages %s on %s (attempt %d)",
            job_id,
            run.run_id,
            ",".join(stages),
            queue,
            attempt + 1,
        )
        return int(job_id)

    @staticmethod
    def cancel(uow: UnitOfWork, run_id: str) -> int:
        """Cancel the run's waiting jobs and ask the workers running the others to stop.

        Returns how many jobs were cancelled or asked to abort.
        """
        query = select(_jobs.c.id).where(
            _jobs.c.task_name == TASK_NAME,
            _jobs.c.status.in_(_ACTIVE_JOBS),
            _jobs.c.args["run_id"].astext == run_id,
        )
        count = 0
        for (job_id,) in uow.connection.execute(query).all():
            cancel = text("SELECT procrastinate_cancel_job_v1(:id, true, false)")
            if uow.connection.execute(cancel, {"id": job_id}).scalar() is not None:
                count += 1
        return count

    @staticmethod
    def counts(uow: UnitOfWork) -> list[JobCount]:
        """Jobs by queue and status (todo = waiting, doing = running, ...)."""
        query = (
            select(_jobs.c.queue_name, _jobs.c.status, func.count())
            .where(_jobs.c.task_name == TASK_NAME)
            .group_by(_jobs.c.queue_name, _jobs.c.status)
            .order_by(_jobs.c.queue_name, _jobs.c.status)
        )
        rows = uow.connection.execute(query).all()
        return [JobCount(str(queue), str(status), int(n)) for queue, status, n in rows]

    @staticmethod
    def workers_alive(uow: UnitOfWork, within_seconds: float) -> int:
        """Workers that recorded a heartbeat in the last ``within_seconds``."""
        since = func.now() - timedelta(seconds=within_seconds)
        query = select(func.count()).select_from(_workers).where(_workers.c.last_heartbeat >= since)
        return int(uow.connection.execute(query).scalar() or 0)

    def recover_stalled(
        self, uow: UnitOfWork, *, stall_seconds: float, retries: int, backoff: int
    ) -> list[StalledJob]:
        """Retry or fail the jobs whose worker stopped sending heartbeats.

        Safe to run in every worker at once: each stalled job is taken with ``FOR UPDATE
        SKIP LOCKED``, so exactly one worker acts on it.
        """
        conn = uow.connection
        conn.execute(
            text("SELECT * FROM procrastinate_prune_stalled_workers_v1(:s)"), {"s": stall_seconds}
        )
        query = (
            select(_jobs.c.id, _jobs.c.queue_name, _jobs.c.args, _jobs.c.attempts)
            .where(
                _jobs.c.task_name == TASK_NAME,
                _jobs.c.status == "doing",
                _jobs.c.worker_id.is_(None),
            )
            .with_for_update(skip_locked=True)
        )
        done = []
        for job_id, queue, args, attempts in conn.execute(query).all():
            done.append(
                self._recover_one(
                    uow,
                    int(job_id),
                    str(queue),
                    cast(dict[str, Any], args),
                    int(attempts),
                    retries=retries,
                    backoff=backoff,
                )
            )
        return done

    def _recover_one(
        self,
        uow: UnitOfWork,
        job_id: int,
        queue: str,
        args: dict[str, Any],
        attempts: int,
        *,
        retries: int,
        backoff: int,
    ) -> StalledJob:
        run_id = str(args["run_id"])
        stages = tuple(str(s) for s in args.get("stages", ()))
        tries = int(args.get("attempt", 0)) + attempts + 1  # this one included
        _finish_job(uow.connection, job_id, "failed")
        runs = uow.runs
        run = runs.lock(run_id) if _run_exists(uow, run_id) else None
        if run is None or run.status.is_terminal:
            return StalledJob(job_id, run_id, stages, "dropped", "the run is gone or finished")
        running = [s.stage for s in run.stages if s.stage in stages]
        reason = f"its worker stopped responding during attempt {tries} of {retries + 1}"
        run = runs.requeue(run_id, running, f"requeued: {reason}")
        if tries <= retries:
            delay = _backoff(backoff, tries)
            self.defer(uow, run, queue, stages, attempt=tries, delay_seconds=delay)
            logger.warning("run %s: %s; retrying in %d s", run_id, reason, delay)
            return StalledJob(job_id, run_id, stages, "retried", reason)
        fail_stages(uow, run_id, stages, f"{reason}; no retries left")
        logger.error("run %s: %s; no retries left", run_id, reason)
        return StalledJob(job_id, run_id, stages, "failed", reason)


def _run_exists(uow: UnitOfWork, run_id: str) -> bool:
    try:
        uow.runs.status(run_id)
    except NotFound:  # the run was deleted while its job waited
        return False
    return True


def _finish_job(conn: Connection, job_id: int, status: str) -> None:
    conn.execute(
        text(
            "SELECT procrastinate_finish_job_v1("
            ":id, CAST(:status AS procrastinate_job_status), false)"
        ),
        {"id": job_id, "status": status},
    )


def fail_stages(uow: UnitOfWork, run_id: str, stages: Sequence[str], reason: str) -> Run:
    """Fail the unfinished ``stages`` of the run with ``reason``; close the run if that was all.

    Used when a job gives up (retries used up, or an error outside any stage).
    """
    runs = uow.runs
    run = runs.lock(run_id)
    if run.status.is_terminal:
        return run
    for state in run.stages:
        if state.stage in stages and state.status in (StageStatus.PENDING, StageStatus.RUNNING):
            runs.set_stage(run_id, state.stage, StageStatus.FAILED, error=reason)
            runs.claim(run_id, state.stage, None)
    run = runs.get(run_id)
    unfinished = (StageStatus.PENDING, StageStatus.RUNNING)
    if any(s.status in unfinished for s in run.stages):
        return run
    failures = [f"{s.stage}: {s.error}" for s in run.stages if s.status is StageStatus.FAILED]
    run = runs.transition(run_id, RunStatus.FAILED, error="; ".join(failures) or reason)
    uow.videos.set_status(run.asset_id, VideoStatus.FAILED)
    return run
