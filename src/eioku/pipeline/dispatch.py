"""One entry point for starting work: plan a run and get it executed (SPEC §9).

``eioku ingest``, the API's "start run" and library scans all call
:meth:`Dispatcher.submit`. With a worker queue (PostgreSQL), the run row and its
Procrastinate jobs are written in one transaction and ``eioku worker`` processes execute
them. Without one (SQLite, or ``EIOKU_EXECUTOR=local``), the plan is handed to a local
executor: the CLI runs it in-process with progress bars, the API in its process pool.

Submitting the same video, profile and stages again while a queued or running run covers
them returns that run (``Plan.reused``) instead of queuing the work twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from eioku.domain.errors import Conflict
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, RunStatus, StageStatus
from eioku.domain.videos import Video
from eioku.pipeline.ingest import Plan, plan_run
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.queue import AlreadyEnqueued, JobCount, JobQueue
from eioku.storage.store import Store, UnitOfWork

logger = logging.getLogger(__name__)

LocalExecutor = Callable[[Plan], object]
"""Executes a plan's new run here (in-process or in a local pool)."""

LOCAL_QUEUE = "local"
"""The name queue status reports for runs executed without workers."""

_UNFINISHED_STAGES = (StageStatus.PENDING, StageStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """What is waiting and running, per queue.

    Attributes:
        workers: True when runs are executed by ``eioku worker`` processes.
        jobs: per queue and status, how many jobs (or, locally, runs).
        workers_alive: workers that sent a heartbeat recently (None without workers).
    """

    workers: bool
    jobs: list[JobCount] = field(default_factory=list)
    workers_alive: int | None = None

    def depth(self) -> dict[str, int]:
        """Waiting jobs per queue."""
        found: dict[str, int] = {}
        for count in self.jobs:
            found.setdefault(count.queue, 0)
            if count.status in ("todo", RunStatus.QUEUED.value):
                found[count.queue] += count.count
        return found


def cancel_run(uow: UnitOfWork, run_id: str) -> Run:
    """Move the run to cancelled and its unfinished stages with it (no worker queue).

    Raises:
        NotFound: no such run.
        RunStateError: the run already reached a final state.
    """
    run = uow.runs.transition(run_id, RunStatus.CANCELLED)
    for stage in run.stages:
        if stage.status in _UNFINISHED_STAGES:
            uow.runs.set_stage(run_id, stage.stage, StageStatus.CANCELLED)
    return uow.runs.get(run_id)


class Dispatcher:
    """Plans runs and has them executed by workers or locally.

    Args:
        store: where videos and runs live.
        models: model lookup (each stage's settings are hashed into its config hash).
        jobs: the worker queue; None executes runs locally.
        local: what executes a new run when there is no worker queue; None leaves it to
            the caller (the CLI executes it in-process, with progress bars).
        stall_seconds: a worker silent this long is not counted as alive.
    """

    def __init__(
        self,
        store: Store,
        models: ModelLibrary,
        *,
        jobs: JobQueue | None = None,
        local: LocalExecutor | None = None,
        stall_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.models = models
        self.jobs = jobs
        self._local = local
        self._stall_seconds = stall_seconds

    @property
    def uses_workers(self) -> bool:
        """True when runs are queued for ``eioku worker`` processes."""
        return self.jobs is not None

    def with_local(self, local: LocalExecutor | None) -> Dispatcher:
        """The same dispatcher with another local executor."""
        copy = Dispatcher(
            self.store, self.models, jobs=self.jobs, local=local, stall_seconds=self._stall_seconds
        )
        return copy

    def submit(
        self,
        video: Video,
        profile: ModelProfile,
        stages: Sequence[str],
        /,
        *,
        force: bool = False,
    ) -> Plan:
        """Plan the stages ``video`` still needs with ``profile`` and start them.

        Returns the plan: ``run`` None when everything is up to date; ``reused`` when an
        unfinished run already covers the stages (nothing new is queued).

        Raises:
            InvalidInput: no stage, or an unknown one.
            NotFound: the video is not registered.
            Conflict: the same work was queued concurrently and could not be found.
        """
        plan = self._plan(video, profile, stages, force)
        if plan.run is not None and not plan.reused:
            logger.info(
                "run %s planned for video %s: %s",
                plan.run.run_id,
                video.video_id,
                ",".join(s.stage for s in plan.run.stages),
            )
            if self.jobs is None and self._local is not None:
                self._local(plan)
        return plan

    def _plan(
        self, video: Video, profile: ModelProfile, stages: Sequence[str], force: bool
    ) -> Plan:
        enqueue = None
        if self.jobs is not None:
            jobs = self.jobs

            def enqueue(uow: UnitOfWork, run: Run) -> None:
                jobs.enqueue(uow, run)

        try:
            return plan_run(
                self.store,
                video,
                profile,
                stages,
                self.models,
                force=force,
                enqueue=enqueue,
                dedup=True,
            )
        except AlreadyEnqueued:
            # Another submit won the race between our check and our insert; its run
            # is committed now, so planning again finds and returns it.
            plan = plan_run(
                self.store, video, profile, stages, self.models, force=force, dedup=True
            )
            if plan.run is not None and not plan.reused:
                raise Conflict(
                    f"the same stages of video {video.video_id} were queued concurrently"
                ) from None
            return replace(plan, reused=plan.run is not None)

    def cancel(self, run_id: str) -> Run:
        """Cancel a queued or running run; workers executing it stop within seconds.

        Raises:
            NotFound: no such run.
            RunStateError: the run already finished.
        """
        with self.store.unit_of_work() as uow:
            run = cancel_run(uow, run_id)
            if self.jobs is not None:
                self.jobs.cancel(uow, run_id)
        logger.info("run %s cancelled", run_id)
        return run

    def queue_status(self) -> QueueStatus:
        """Jobs per queue and status, and live workers (locally: queued and running runs)."""
        with self.store.unit_of_work(write=False) as uow:
            if self.jobs is not None:
                return QueueStatus(
                    True, self.jobs.counts(uow), self.jobs.workers_alive(uow, self._stall_seconds)
                )
            runs, _stages = uow.runs.count_by_status()
        local = [
            JobCount(LOCAL_QUEUE, status.value, runs.get(status.value, 0))
            for status in (RunStatus.QUEUED, RunStatus.RUNNING)
        ]
        return QueueStatus(False, local, None)
