"""Navigation and search (SPEC §7–§8): jump and find inside a video, global jump and the
library gallery. Each route makes one call into :mod:`eioku.search` and shapes the answer.

Jump, find and global jump are a few index lookups: they run on the event loop
(``async def`` with :data:`~eioku.api.deps.LookupUnitOfWork`), which is faster than handing
each request to the thread pool. The gallery, which may read many rows, stays in the pool.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from eioku.api.deps import (
    Cursor,
    LookupUnitOfWork,
    ReadUnitOfWork,
    SelectionParams,
    VideoId,
    decode_cursor,
    encode_cursor,
    millis_query,
    text_query,
)
from eioku.api.errors import error_responses
from eioku.api.models import Timestamp
from eioku.domain.errors import InvalidQuery
from eioku.search import find as find_service
from eioku.search import gallery as gallery_service
from eioku.search import navigation, timeline
from eioku.search.kinds import Direction, Filters, Kind, TextSource

router = APIRouter(prefix="/v1", tags=["navigation"])

MAX_SEARCH_TEXT = 16_384


class GroupBy(StrEnum):
    """How the gallery groups its answer."""

    VIDEO = "video"


def _search_text(description: str) -> Any:
    # Any text a person can type is accepted (punctuation, quotes, operators, any script);
    # the domain's query parser reduces it to words, so only the length is limited.
    return Query(description=description, max_length=MAX_SEARCH_TEXT)


KindParam = Annotated[Kind, Query(description="What to navigate between.")]
DirectionParam = Annotated[Direction, Query(description="`next` or `prev` along the timeline.")]
FromMs = Annotated[
    int | None,
    millis_query(
        "Position in ms: next finds start > from_ms, prev end < from_ms. "
        "Omitted: from the start (next) or the end (prev)."
    ),
]
Label = Annotated[str | None, text_query("Object or place label (kinds object, place).")]
Cluster = Annotated[str | None, text_query("Face identity cluster (kind face).")]
FindFromMs = Annotated[
    int | None,
    millis_query(
        "Position in ms: next finds start > from_ms, prev start < from_ms. "
        "Omitted: from the start (next) or the end (prev)."
    ),
]
OcrText = Annotated[str | None, _search_text("Words on screen (kind ocr).")]
SpeechText = Annotated[str | None, _search_text("Words spoken (kind transcript).")]
MinConfidence = Annotated[
    float | None,
    Query(ge=0.0, le=1.0, description="Minimum confidence (kinds object, face, place, ocr)."),
]


class JumpTo(BaseModel):
    """The span a player should seek to."""

    start_ms: int = Field(description="Start of the span, in ms.")
    end_ms: int = Field(description="End of the span, in ms.")


class JumpOut(BaseModel):
    """Where the next/previous match is in the video."""

    video_id: str = Field(description="The video.")
    jump_to: JumpTo = Field(description="Span covering every artifact returned.")
    artifact_ids: list[str] = Field(description="Artifacts at that point (ties), by id.")


class FindMatchOut(BaseModel):
    """One place the words occur."""

    jump_to: JumpTo = Field(description="The matching artifact's span.")
    artifact_id: str = Field(description="The matching artifact.")
    snippet: str = Field(description="HTML-escaped excerpt; matches wrapped in <b>…</b>.")
    source: TextSource = Field(description="`transcript` or `ocr`.")


class FindOut(BaseModel):
    """Matches ascending from from_ms (next) or descending (prev)."""

    video_id: str = Field(description="The video.")
    matches: list[FindMatchOut] = Field(description="Matches, at most `limit`.")


class GlobalJumpOut(BaseModel):
    """The next/previous match anywhere in the library."""

    video_id: str = Field(description="Video of the match.")
    filename: str = Field(description="Its file name.")
    recorded_at: Timestamp | None = Field(description="When it was filmed, if known.")
    jump_to: JumpTo = Field(description="Span covering the artifacts returned.")
    artifact_id: str = Field(description="The first artifact at that point.")
    artifact_ids: list[str] = Field(description="Every artifact at that point (ties), by id.")
    preview: dict[str, Any] = Field(description="Label, text or cluster of the match.")
    has_more: bool = Field(description="Whether another match lies beyond in this direction.")


class GalleryItemOut(BaseModel):
    """One match in the library."""

    video_id: str = Field(description="Video of the match.")
    filename: str = Field(description="Its file name.")
    recorded_at: Timestamp | None = Field(description="When it was filmed, if known.")
    artifact_id: str = Field(description="The matching artifact.")
    jump_to: JumpTo = Field(description="Its span.")
    preview: dict[str, Any] = Field(description="Label, text or cluster of the match.")


class VideoCountOut(BaseModel):
    """How many matches one video has."""

    video_id: str = Field(description="The video.")
    filename: str = Field(description="Its file name.")
    recorded_at: Timestamp | None = Field(description="When it was filmed, if known.")
    count: int = Field(description="Matches in this video.")


class GalleryOut(BaseModel):
    """A page of library-wide matches, along the global timeline."""

    items: list[GalleryItemOut] | None = Field(description="Matches (without group_by).")
    videos: list[VideoCountOut] | None = Field(description="Counts per video (group_by=video).")
    next_cursor: str | None = Field(description="Cursor of the next page; null at the end.")


async def _filters(
    label: Label = None,
    face_cluster_id: Cluster = None,
    text: OcrText = None,
    q: SpeechText = None,
    min_confidence: MinConfidence = None,
) -> Filters:
    return Filters(label, face_cluster_id, text, q, min_confidence)


FilterParams = Annotated[Filters, Depends(_filters)]


@router.get("/videos/{video_id}/jump", response_model=JumpOut, responses=error_responses(400, 404))
async def jump(
    video_id: VideoId,
    *,
    kind: KindParam,
    filters: FilterParams,
    uow: LookupUnitOfWork,
    selection: SelectionParams,
    direction: DirectionParam = Direction.NEXT,
    from_ms: FromMs = None,
) -> JumpOut:
    """Next/previous artifact of a kind in the video; 404 when there is none."""
    found = navigation.jump(
        uow,
        video_id,
        kind,
        direction,
        from_ms=from_ms,
        filters=filters,
        selection=selection,
    )
    return JumpOut(
        video_id=found.video_id,
        jump_to=JumpTo(start_ms=found.start_ms, end_ms=found.end_ms),
        artifact_ids=list(found.artifact_ids),
    )


@router.get("/videos/{video_id}/find", response_model=FindOut, responses=error_responses(400, 404))
async def find(
    video_id: VideoId,
    *,
    q: Annotated[str, _search_text('Words to find; "quoted phrases" match as phrases.')],
    uow: LookupUnitOfWork,
    selection: SelectionParams,
    direction: DirectionParam = Direction.NEXT,
    from_ms: FindFromMs = None,
    source: Annotated[TextSource, Query(description="Where to look.")] = TextSource.ALL,
    limit: Annotated[int, Query(ge=1, le=find_service.MAX_LIMIT, description="Most matches.")] = 10,
) -> FindOut:
    """Where words are spoken or shown in the video, with highlighted snippets."""
    matches = find_service.find(
        uow,
        video_id,
        q,
        direction=direction,
        from_ms=from_ms,
        source=source,
        selection=selection,
        limit=limit,
    )
    return FindOut(
        video_id=video_id,
        matches=[
            FindMatchOut(
                jump_to=JumpTo(start_ms=m.start_ms, end_ms=m.end_ms),
                artifact_id=m.artifact_id,
                snippet=m.snippet,
                source=m.source,
            )
            for m in matches
        ],
    )


@router.get("/jump/global", response_model=GlobalJumpOut, responses=error_responses(400, 404))
async def global_jump(
    *,
    kind: KindParam,
    filters: FilterParams,
    uow: LookupUnitOfWork,
    direction: DirectionParam = Direction.NEXT,
    video_id: Annotated[str | None, text_query("Video to start from (omit: library edge).")] = None,
    from_ms: FromMs = None,
) -> GlobalJumpOut:
    """Next/previous match across the library along (recorded time, video, position).

    Each video's default selection policy applies.
    """
    found = timeline.global_jump(
        uow,
        kind,
        direction,
        from_video_id=video_id,
        from_ms=from_ms,
        filters=filters,
    )
    return GlobalJumpOut(
        video_id=found.video_id,
        filename=found.filename,
        recorded_at=found.recorded_at,
        jump_to=JumpTo(start_ms=found.start_ms, end_ms=found.end_ms),
        artifact_id=found.artifact_ids[0],
        artifact_ids=list(found.artifact_ids),
        preview=found.preview,
        has_more=found.has_more,
    )


@router.get("/search", response_model=GalleryOut, responses=error_responses(400))
def search(
    *,
    kind: KindParam,
    filters: FilterParams,
    uow: ReadUnitOfWork,
    filename: Annotated[str | None, text_query("Part of the file name (any case).")] = None,
    group_by: Annotated[
        GroupBy | None, Query(description="`video`: counts per video instead of matches.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=gallery_service.MAX_PAGE, description="Page size.")] = 50,
    cursor: Cursor = None,
) -> GalleryOut:
    """Every match of a kind across the library (a gallery), or match counts per video."""
    if group_by is GroupBy.VIDEO:
        return _by_video(uow, kind, filters, filename=filename, limit=limit, cursor=cursor)
    after = None
    if cursor is not None:
        at, video, start, artifact = decode_cursor(cursor, str, str, int, str)
        after = (_instant(at, cursor), video, start, artifact)
    items = gallery_service.gallery(
        uow, kind, filters=filters, filename=filename, limit=limit + 1, after=after
    )
    page = items[:limit]
    last = page[-1] if len(items) > limit else None
    return GalleryOut(
        items=[
            GalleryItemOut(
                video_id=i.video_id,
                filename=i.filename,
                recorded_at=i.recorded_at,
                artifact_id=i.artifact_id,
                jump_to=JumpTo(start_ms=i.start_ms, end_ms=i.end_ms),
                preview=i.preview,
            )
            for i in page
        ],
        videos=None,
        next_cursor=None if last is None else _encode(last.cursor),
    )


def _by_video(
    uow: ReadUnitOfWork,
    kind: Kind,
    filters: Filters,
    *,
    filename: str | None,
    limit: int,
    cursor: str | None,
) -> GalleryOut:
    after = None
    if cursor is not None:
        at, video = decode_cursor(cursor, str, str)
        after = (_instant(at, cursor), video)
    counts = gallery_service.counts_by_video(
        uow, kind, filters=filters, filename=filename, limit=limit + 1, after=after
    )
    page = counts[:limit]
    more = len(counts) > limit
    next_cursor = None
    if more:
        timeline_at = uow.videos.get(page[-1].video_id).timeline_at
        next_cursor = encode_cursor(timeline_at.isoformat(), page[-1].video_id)
    return GalleryOut(
        items=None,
        videos=[
            VideoCountOut(
                video_id=c.video_id, filename=c.filename, recorded_at=c.recorded_at, count=c.count
            )
            for c in page
        ],
        next_cursor=next_cursor,
    )


def _encode(cursor: gallery_service.GalleryCursor) -> str:
    at, video, start, artifact = cursor
    return encode_cursor(at.isoformat(), video, start, artifact)


def _instant(value: str, cursor: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQuery("invalid cursor", details={"cursor": cursor}) from None
    if instant.tzinfo is None:
        raise InvalidQuery("invalid cursor", details={"cursor": cursor})
    return instant
