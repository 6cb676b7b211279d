"""Starting work from the API: register a video file, start a run on it (SPEC §8, §9).

Runs go through the application's :class:`~eioku.pipeline.dispatch.Dispatcher`: queued
for ``eioku worker`` processes on PostgreSQL, executed by a local process pool otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field

from eioku.api.deps import SettingsDep, StoreDep, VideoId
from eioku.api.errors import error_responses
from eioku.api.models import RunOut, VideoOut
from eioku.bootstrap import build_dispatcher
from eioku.config import Settings
from eioku.domain.errors import InvalidInput, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.pipeline.dispatch import Dispatcher
from eioku.pipeline.ingest import Plan, register
from eioku.pipeline.local import LocalRunQueue
from eioku.pipeline.stages import STAGE_NAMES, parse_stages
from eioku.storage.store import Store

router = APIRouter(prefix="/v1", tags=["pipeline"])


class RegisterVideo(BaseModel):
    """A media file to add to the library."""

    path: str = Field(
        min_length=1,
        max_length=4096,
        description="Path of the file on the server, inside one of the library folders "
        "(`EIOKU_LIBRARY_DIRS`).",
    )


class StartRun(BaseModel):
    """What to run on a video."""

    profile: ModelProfile = Field(
        default=ModelProfile.BALANCED, description="fast, balanced or high_quality."
    )
    stages: list[str] | None = Field(
        default=None,
        max_length=len(STAGE_NAMES),
        description=f"Stages to run (default: all): {', '.join(STAGE_NAMES)}.",
    )
    force: bool = Field(default=False, description="Run stages again even if nothing changed.")


def inside_library(settings: Settings, raw: str, *, purpose: str) -> Path:
    """The path ``raw`` names, resolved (links too) and checked to be inside a library folder.

    ``purpose`` completes "folders the API may ..." in the error when none is configured.

    Raises:
        InvalidInput: a NUL, no library folder configured, or a path outside them.
    """
    if "\x00" in raw:
        raise InvalidInput("path must not contain NUL characters", details={"field": "path"})
    if not settings.library_dirs:
        raise InvalidInput(
            "no library folders are configured: set EIOKU_LIBRARY_DIRS to a JSON list of "
            f"folders the API may {purpose}",
            details={"field": "path"},
        )
    try:
        path = Path(raw).expanduser().resolve()
        roots = [Path(root).expanduser().resolve() for root in settings.library_dirs]
    except (OSError, RuntimeError, ValueError):
        raise InvalidInput(f"invalid path {raw!r}", details={"field": "path"}) from None
    if not any(path.is_relative_to(root) for root in roots):
        raise InvalidInput(
            f"{raw} is outside the library folders ({', '.join(map(str, roots))})",
            details={"field": "path"},
        )
    return path


def _library_file(settings: Settings, raw: str) -> Path:
    """The file ``raw`` names inside a library folder."""
    path = inside_library(settings, raw, purpose="register videos from")
    if not path.is_file():
        raise NotFound(f"no such file: {raw}", details={"path": raw})
    return path


def local_pool(app: FastAPI, settings: Settings) -> LocalRunQueue:
    """The app's local worker pool, started on first use."""
    queue: LocalRunQueue | None = getattr(app.state, "run_queue", None)
    if queue is None:
        queue = LocalRunQueue(settings.database_url, settings.model_dir)
        app.state.run_queue = queue
    return queue


def run_queue(request: Request, settings: SettingsDep) -> LocalRunQueue:
    """The app's local worker pool, started on first use."""
    return local_pool(request.app, settings)


def app_dispatcher(app: FastAPI, settings: Settings, store: Store) -> Dispatcher:
    """The application's dispatcher (made on first use).

    Without workers, new runs go to the app's local pool. Also used by the library
    endpoints and by ``eioku serve`` for watched sources.
    """
    found: Dispatcher | None = getattr(app.state, "dispatcher", None)
    if found is None:

        def execute_locally(plan: Plan) -> None:
            assert plan.run is not None
            local_pool(app, settings).submit(plan.run.run_id)

        found = build_dispatcher(settings, store, local=execute_locally)
        app.state.dispatcher = found
    return found


def dispatcher(request: Request, settings: SettingsDep, store: StoreDep) -> Dispatcher:
    """The application's dispatcher, as a dependency."""
    return app_dispatcher(request.app, settings, store)


DispatcherDep = Annotated[Dispatcher, Depends(dispatcher)]


@router.post(
    "/videos",
    response_model=VideoOut,
    status_code=201,
    responses=error_responses(400, 404),
)
def register_video(body: RegisterVideo, store: StoreDep, settings: SettingsDep) -> VideoOut:
    """Register a media file from a library folder (again: refresh it); returns the video.

    Registering does not process it: start a run with `POST /v1/videos/{video_id}/runs`.
    """
    return VideoOut.model_validate(register(store, _library_file(settings, body.path)))


@router.post(
    "/videos/{video_id}/runs",
    response_model=RunOut,
    status_code=202,
    responses={
        **error_responses(400, 404),
        200: {
            "description": "Nothing new queued: the newest run of the video, or the queued "
            "or running run that already covers the stages.",
            "model": RunOut,
        },
    },
)
def start_run(
    video_id: VideoId,
    *,
    body: StartRun,
    store: StoreDep,
    dispatch: DispatcherDep,
    response: Response,
) -> RunOut:
    """Queue a run of the video's stages; poll `GET /v1/runs/{run_id}` for its progress.

    Stages already done on the same file with the same settings are left out unless
    `force`; when nothing is left, the answer is 200 with the newest run of the video.
    When a queued or running run of the same profile already covers the stages, the
    answer is 200 with that run (nothing is queued twice).
    """
    stages = parse_stages(",".join(body.stages)) if body.stages else STAGE_NAMES
    if body.stages is not None and not body.stages:
        raise InvalidInput("stages must not be empty", details={"field": "stages"})
    with store.unit_of_work(write=False) as uow:
        video = uow.videos.get(video_id)
    plan = dispatch.submit(video, body.profile, stages, force=body.force)
    if plan.run is None:
        with store.unit_of_work(write=False) as uow:
            newest = uow.runs.list_for_video(video_id)[0]
        response.status_code = 200
        return RunOut.model_validate(newest)
    if plan.reused:
        response.status_code = 200
    return RunOut.model_validate(plan.run)
