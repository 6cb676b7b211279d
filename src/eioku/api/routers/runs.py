"""Runs: a video's runs, one run with per-stage status and progress, and cancelling a run."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from eioku.api.deps import ReadUnitOfWork, RunId, VideoId, WriteUnitOfWork
from eioku.api.errors import error_responses
from eioku.api.models import RunOut
from eioku.domain.runs import Run, RunStatus, StageStatus
from eioku.storage.store import UnitOfWork

router = APIRouter(prefix="/v1", tags=["runs"])

_UNFINISHED_STAGES = (StageStatus.PENDING, StageStatus.RUNNING)


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
def cancel_run(run_id: RunId, uow: WriteUnitOfWork) -> RunOut:
    """Cancel a queued or running run; a finished run cannot be cancelled (409)."""
    return RunOut.model_validate(cancel(uow, run_id))


def cancel(uow: UnitOfWork, run_id: str) -> Run:
    """Move the run to cancelled and its unfinished stages with it.

    Raises:
        NotFound: no such run.
        RunStateError: the run already reached a final state.
    """
    run = uow.runs.transition(run_id, RunStatus.CANCELLED)
    for stage in run.stages:
        if stage.status in _UNFINISHED_STAGES:
            uow.runs.set_stage(run_id, stage.stage, StageStatus.CANCELLED)
    return uow.runs.get(run_id)
