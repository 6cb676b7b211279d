"""Response models shared by several routers: videos, runs and artifact envelopes.

Records use the SPEC's column names (§4); times are ISO 8601 with an explicit ``+00:00``
offset, as in the exchange files, rather than pydantic's ``Z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus, StageStatus
from eioku.domain.videos import VideoStatus


def _iso(value: datetime) -> str:
    return value.isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Record(BaseModel):
    """Base of the response records: built from the domain objects' attributes."""

    model_config = ConfigDict(from_attributes=True)


class VideoOut(Record):
    """A video (asset) of the library."""

    video_id: str = Field(description="Stable id of the video (`asset_id` in artifacts).")
    path: str = Field(description="Path of the media file on the server.")
    filename: str = Field(description="File name of the media file.")
    file_size: int = Field(description="Size of the file in bytes when registered.")
    file_mtime: Timestamp = Field(description="Modification time of the file.")
    file_hash: str = Field(description="Content hash of the file.")
    duration_ms: int | None = Field(description="Duration in milliseconds, if known.")
    recorded_at: Timestamp | None = Field(description="When it was filmed, if known.")
    status: VideoStatus = Field(description="Where the video is in its life in the library.")
    created_at: Timestamp = Field(description="When it was registered.")
    updated_at: Timestamp = Field(description="When its row last changed.")


class StageOut(Record):
    """Status and progress of one stage of a run."""

    stage: str = Field(description="Stage name, e.g. `transcribe`.")
    status: StageStatus = Field(description="Stage status.")
    progress: float = Field(description="Progress from 0.0 to 1.0.")
    error: str | None = Field(description="Why the stage failed, if it did.")
    started_at: Timestamp | None = Field(description="When the stage started.")
    finished_at: Timestamp | None = Field(description="When the stage finished.")
    input_hash: str | None = Field(description="Content hash of the input the stage read.")
    config_hash: str | None = Field(description="Hash of the stage's engine settings.")
    artifact_count: int | None = Field(description="Artifacts the stage stored, once done.")


class RunOut(Record):
    """One pipeline execution over one video, with its stages in order."""

    run_id: str = Field(description="Run id.")
    asset_id: str = Field(description="The video the run processed.")
    pipeline_profile: ModelProfile = Field(description="Quality profile of the run.")
    status: RunStatus = Field(description="Lifecycle state of the run.")
    started_at: Timestamp = Field(description="When the run was started.")
    finished_at: Timestamp | None = Field(description="When it reached a final state.")
    error: str | None = Field(description="Why the run failed, if it did.")
    stages: list[StageOut] = Field(description="Per-stage status and progress.")


class EnvelopeOut(Record):
    """One artifact: the envelope (SPEC §2) with its payload."""

    artifact_id: str = Field(description="Artifact id.")
    asset_id: str = Field(description="The video the artifact belongs to.")
    artifact_type: str = Field(description="Artifact type, e.g. `transcript.segment`.")
    schema_version: int = Field(description="Payload schema version of the type.")
    span_start_ms: int = Field(description="Start of the span, ms from the video start.")
    span_end_ms: int = Field(description="End of the span (== start for a point in time).")
    payload: dict[str, Any] = Field(description="The typed payload, as its schema reads it.")
    producer: str = Field(description="Tool or model that made the artifact.")
    producer_version: str = Field(description="Version of the producer.")
    model_profile: ModelProfile = Field(description="Quality profile it was made with.")
    config_hash: str = Field(description="Hash of the producer configuration used.")
    input_hash: str = Field(description="Content hash of the input media.")
    run_id: str = Field(description="The run that made it.")
    created_at: Timestamp = Field(description="When it was stored.")
