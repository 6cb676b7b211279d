"""``/v1/videos``: the library along the global timeline, one video, its media and thumbnails."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Field

from eioku.api.deps import (
    Cursor,
    ReadUnitOfWork,
    SettingsDep,
    StoreDep,
    VideoId,
    WriteUnitOfWork,
    decode_cursor,
    encode_cursor,
)
from eioku.api.errors import error_responses
from eioku.api.models import Record, Timestamp, VideoOut
from eioku.api.streaming import MediaFileResponse
from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidQuery
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus
from eioku.domain.selection import RunOutput
from eioku.media.files import media_file, media_type
from eioku.media.thumbnails import MAX_WIDTH, MIN_WIDTH, ThumbnailRequest, forget_video, thumbnail

router = APIRouter(prefix="/v1", tags=["videos"])


class VideoPage(BaseModel):
    """One page of the library along the global timeline."""

    videos: list[VideoOut] = Field(description="Videos in timeline order.")
    next_cursor: str | None = Field(description="Cursor of the next page; null at the end.")


class ProfileCount(BaseModel):
    """How many artifacts of a type one profile produced."""

    profile: ModelProfile = Field(description="Model profile.")
    artifact_count: int = Field(description="Artifacts of this type and profile.")


class TypeSummary(BaseModel):
    """One artifact type a video has, with counts per profile (best profile last)."""

    artifact_type: str = Field(description="Artifact type.")
    artifact_count: int = Field(description="Artifacts of this type, all runs together.")
    profiles: list[ProfileCount] = Field(description="Counts per profile, fast first.")


class RunSummary(Record):
    """A run of the video, without its stages (see `GET /v1/runs/{run_id}`)."""

    run_id: str = Field(description="Run id.")
    pipeline_profile: ModelProfile = Field(description="Quality profile of the run.")
    status: RunStatus = Field(description="Lifecycle state of the run.")
    started_at: Timestamp = Field(description="When the run started.")
    finished_at: Timestamp | None = Field(description="When it reached a final state.")


class VideoDetail(VideoOut):
    """A video and what data the library holds for it."""

    source: Literal["artifacts"] = Field(description="Where the data comes from.")
    legacy: bool = Field(description="Whether legacy per-type tables hold data for it.")
    artifact_types: list[TypeSummary] = Field(description="Artifact types present.")
    runs: list[RunSummary] = Field(description="Its runs, newest first.")


MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole media file.", "content": {"video/*": {}}},
    206: {
        "description": "Part of the file (one range, or several as multipart/byteranges).",
        "content": {"video/*": {}, "multipart/byteranges": {}},
    },
    **error_responses(400, 404, 416),
}


@router.get("/videos", response_model=VideoPage, responses=error_responses(400))
def list_videos(
    uow: ReadUnitOfWork,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    cursor: Cursor = None,
    order: Annotated[
        Literal["asc", "desc"], Query(description="Along the timeline, or backwards.")
    ] = "asc",
) -> VideoPage:
    """The library in global-timeline order (recorded time, else file time; then id)."""
    after = _timeline_key(cursor) if cursor is not None else None
    found = uow.videos.list(limit=limit + 1, after=after, descending=order == "desc")
    page = found[:limit]
    last = page[-1] if len(found) > limit else None
    next_cursor = None
    if last is not None:
        next_cursor = encode_cursor(last.timeline_at.isoformat(), last.video_id)
    return VideoPage(
        videos=[VideoOut.model_validate(video) for video in page], next_cursor=next_cursor
    )


def _timeline_key(cursor: str) -> tuple[datetime, str]:
    at, video_id = decode_cursor(cursor, str, str)
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise InvalidQuery("invalid cursor", details={"cursor": cursor}) from None
    if when.tzinfo is None:
        raise InvalidQuery("invalid cursor", details={"cursor": cursor})
    return when, video_id


@router.get("/videos/{video_id}", response_model=VideoDetail, responses=error_responses(400, 404))
def get_video(video_id: VideoId, uow: ReadUnitOfWork) -> VideoDetail:
    """The video, the artifact types it has (with counts per profile) and its runs."""
    video = uow.videos.get(video_id)
    outputs = uow.selections.outputs_by_type(video_id)
    runs = uow.runs.list_for_video(video_id)
    return VideoDetail(
        **VideoOut.model_validate(video).model_dump(),
        source="artifacts",
        legacy=False,
        artifact_types=[
            _summary(kind, found)
            for kind, found in sorted(outputs.items())
            if any(output.artifact_count for output in found)
        ],
        runs=[RunSummary.model_validate(run) for run in runs],
    )


def _summary(artifact_type: str, outputs: list[RunOutput]) -> TypeSummary:
    counts: dict[ModelProfile, int] = defaultdict(int)
    for output in outputs:
        if output.artifact_count > 0:
            counts[output.model_profile] += output.artifact_count
    ranked = sorted(counts, key=_rank)
    profiles = [ProfileCount(profile=p, artifact_count=counts[p]) for p in ranked]
    return TypeSummary(
        artifact_type=artifact_type,
        artifact_count=sum(counts.values()),
        profiles=profiles,
    )


def _rank(profile: ModelProfile) -> int:
    return profile.rank


@router.delete(
    "/videos/{video_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 404),
)
def delete_video(video_id: VideoId, uow: WriteUnitOfWork, settings: SettingsDep) -> None:
    """Delete the video with its runs, artifacts, projections, policies and thumbnails.

    The media file itself is left on disk.
    """
    uow.videos.delete(video_id)
    forget_video(settings.cache_dir, video_id)


RangeHeader = Annotated[
    str | None,
    Header(
        alias="Range",
        description="Byte ranges, e.g. `bytes=0-1023`, `bytes=-500`, `bytes=100-`.",
    ),
]


# ``range_header`` is declared so that OpenAPI documents it; the response reads Range (and
# If-Range) from the request itself.
def stream_video(video_id: VideoId, store: StoreDep, range_header: RangeHeader = None) -> Response:
    """The media file; Range requests get 206, unsatisfiable ones 416."""
    with store.unit_of_work(write=False) as uow:
        video = uow.videos.get(video_id)
    path = media_file(video)
    return MediaFileResponse(str(path), media_type=media_type(path), filename=video.filename)


for method, name in (("GET", "stream_video"), ("HEAD", "stream_video_head")):
    router.add_api_route(
        "/videos/{video_id}/stream",
        stream_video,
        methods=[method],
        name=name,
        status_code=200,
        response_class=MediaFileResponse,
        responses=MEDIA_RESPONSES,
    )


@router.get(
    "/videos/{video_id}/thumbnail",
    response_class=Response,
    responses={
        200: {"description": "A JPEG image.", "content": {"image/jpeg": {}}},
        **error_responses(400, 404, 503),
    },
)
def video_thumbnail(
    video_id: VideoId,
    store: StoreDep,
    settings: SettingsDep,
    at_ms: Annotated[
        int, Query(ge=0, le=INT64_MAX, description="Time; past the end gives the last frame.")
    ] = 0,
    width: Annotated[
        int, Query(ge=MIN_WIDTH, le=MAX_WIDTH, description="Width in pixels; aspect is kept.")
    ] = 320,
) -> Response:
    """A JPEG of the frame nearest ``at_ms``, cached on disk."""
    with store.unit_of_work(write=False) as uow:  # not held while decoding
        video = uow.videos.get(video_id)
    request = ThumbnailRequest(video.video_id, media_file(video), video.file_hash, at_ms, width)
    image = thumbnail(settings.cache_dir, request)
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})
