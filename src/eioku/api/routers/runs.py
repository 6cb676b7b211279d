"""Runs: a video's runs, one run with per-stage status and progress, cancelling a run, and
the worker queue's depth."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from eioku.api.deps import ReadUnitOfWork, RunId, VideoId
from eioku.api.errors import error_responses
from eioku.api.models import RunOut
from eioku.api.routers.pipeline import DispatcherDep
from eioku.domain.runs import Run
from eioku.pipeline.dispatch import cancel_run as _cancel_run
from eioku.storage.store import UnitOfWork

router = APIRouter(prefix="/v1", tags=["runs"])


class RunList(BaseModel):
    """A video's runs, newest first."""

    video_id: str = Field(description="The video.")
    runs: list[RunOut] = Field(description="Its runs with their stages, newest first.")


@router.get("/videos/{video_id}/runs", response_model=RunList, responses=error_responses(400, 404))
def list_runs(video_id: VideoId, uow: ReadUnitOfWork) -> RunList:
    """Every run of the video, newest first, with per-stage status."""
    uow.videos.get(video_id)
    runs = uow.runs.list_for_video(video_id)
    return RunList(video_id=video_id, runs=[RunOut.model_validate(run) for run in runs])


@router.get("/runs/{run_id}", response_model=RunOut, responses=error_responses(400, 404))
def get_run(run_id: RunId, uow: ReadUnitOfWork) -> RunOut:
    """One run with each stage's status, progress and error."""
    return RunOut.model_validate(uow.runs.get(run_id))


@router.post(
    "/runs/{run_id}/cancel",
    response_model=RunOut,
    responses=error_responses(400, 404, 409),
)
def cancel_run(run_id: RunId, dispatch: DispatcherDep) -> RunOut:
    """Cancel a queued or running run; a finished run cannot be cancelled (409).

    Whoever executes it (a local process or an `eioku worker`) stops within about a
    second; its waiting jobs are cancelled.
    """
    return RunOut.model_validate(dispatch.cancel(run_id))


def cancel(uow: UnitOfWork, run_id: str) -> Run:
    """Move the run to cancelled and its unfinished stages with it (no worker jobs).

    Raises:
        NotFound: no such run.
        RunStateError: the run already reached a final state.
    """
    return _cancel_run(uow, run_id)


class QueueCount(BaseModel):
    """How many jobs of one queue are in one status."""

    queue: str = Field(description="Worker queue (`local` when runs execute locally).")
    status: str = Field(
        description="todo (waiting), doing (running), succeeded, failed, cancelled, aborted; "
        "locally: queued or running runs."
    )
    count: int = Field(ge=0, description="How many.")


class QueueOut(BaseModel):
    """The worker queue: depth per queue, jobs by status, live workers."""

    workers: bool = Field(description="True when runs are executed by `eioku worker` processes.")
    depth: dict[str, int] = Field(description="Waiting jobs (or queued runs) per queue.")
    jobs: list[QueueCount] = Field(description="Jobs per queue and status.")
    workers_alive: int | None = Field(
        description="Workers with a recent heartbeat (null without workers)."
    )


@router.get("/queue", response_model=QueueOut)
def queue_status(dispatch: DispatcherDep) -> QueueOut:
    """Depth and status of the worker queue(s), and how many workers are alive."""
    status = dispatch.queue_status()
    return QueueOut(
        workers=status.workers,
        depth=status.depth(),
        jobs=[QueueCount(queue=c.queue, status=c.status, count=c.count) for c in status.jobs],
        workers_alive=status.workers_alive,
    )
