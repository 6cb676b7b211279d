"""Subtitle exports of a video: the transcript as WebVTT and SubRip, OCR as a metadata track.

Each applies the selection policy like every other read, so a re-run never shows up as
duplicate cues.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Response

from eioku.api.deps import ReadUnitOfWork, SelectionParams, VideoId
from eioku.api.errors import error_responses
from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.selection import SelectionPolicy
from eioku.media.subtitles import Cue, metadata_text, srt, webvtt
from eioku.storage.artifacts import SpanFilter
from eioku.storage.store import UnitOfWork

router = APIRouter(prefix="/v1", tags=["exports"])

TRANSCRIPT = "transcript.segment"
OCR = "ocr.text"
VTT_TYPE = "text/vtt; charset=utf-8"
SRT_TYPE = "application/x-subrip; charset=utf-8"


def _text(media: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "content": {media: {"schema": {"type": "string"}}}},
        **error_responses(400, 404),
    }


def _artifacts(
    uow: UnitOfWork, video_id: str, artifact_type: str, selection: SelectionPolicy | None
) -> Iterator[ArtifactEnvelope]:
    uow.videos.get(video_id)
    filters = SpanFilter(artifact_type=artifact_type)
    return uow.artifacts.iter_by_asset(video_id, filters, selection=selection)


def _transcript_cues(
    uow: UnitOfWork, video_id: str, selection: SelectionPolicy | None
) -> list[Cue]:
    return [
        Cue(
            start_ms=envelope.span_start_ms,
            end_ms=envelope.span_end_ms,
            text=str(envelope.payload.get("text", "")),
            identifier=envelope.artifact_id,
            voice=_string(envelope.payload.get("speaker")),
        )
        for envelope in _artifacts(uow, video_id, TRANSCRIPT, selection)
    ]


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


@router.get(
    "/videos/{video_id}/transcript.vtt",
    response_class=Response,
    responses=_text("text/vtt", "The transcript as WebVTT captions."),
)
def transcript_vtt(video_id: VideoId, uow: ReadUnitOfWork, selection: SelectionParams) -> Response:
    """The selected transcript segments as WebVTT, cue ids being artifact ids."""
    cues = _transcript_cues(uow, video_id, selection)
    return Response(webvtt(cues), media_type=VTT_TYPE)


@router.get(
    "/videos/{video_id}/transcript.srt",
    response_class=Response,
    responses=_text("application/x-subrip", "The transcript as SubRip subtitles."),
)
def transcript_srt(video_id: VideoId, uow: ReadUnitOfWork, selection: SelectionParams) -> Response:
    """The selected transcript segments as SubRip."""
    cues = _transcript_cues(uow, video_id, selection)
    return Response(srt(cues), media_type=SRT_TYPE)


@router.get(
    "/videos/{video_id}/ocr.vtt",
    response_class=Response,
    responses=_text("text/vtt", "On-screen text as a WebVTT metadata track."),
)
def ocr_vtt(video_id: VideoId, uow: ReadUnitOfWork, selection: SelectionParams) -> Response:
    """On-screen text as a WebVTT metadata track (``<track kind="metadata">``).

    Each cue's text is one JSON object: ``{"text", "confidence", "bounding_box"}``.
    """
    cues = [
        Cue(
            start_ms=envelope.span_start_ms,
            end_ms=envelope.span_end_ms,
            text=metadata_text(
                {key: envelope.payload.get(key) for key in ("text", "confidence", "bounding_box")}
            ),
            identifier=envelope.artifact_id,
        )
        for envelope in _artifacts(uow, video_id, OCR, selection)
    ]
    return Response(webvtt(cues, metadata=True), media_type=VTT_TYPE)
