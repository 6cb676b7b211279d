"""Videos (assets) and the global timeline order that library-wide navigation follows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eioku.domain.envelope import INT64_MAX, NonEmpty, require_aware
from eioku.domain.ids import new_id


class VideoStatus(StrEnum):
    """Where a video is in its life in the library."""

    REGISTERED = "registered"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    MISSING = "missing"


class Video(BaseModel):
    """One media file known to the library."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    video_id: NonEmpty = Field(default_factory=new_id)
    path: NonEmpty
    filename: NonEmpty
    file_size: Annotated[int, Field(ge=0, le=INT64_MAX)]
    file_mtime: datetime
    file_hash: NonEmpty
    duration_ms: Annotated[int, Field(ge=0, le=INT64_MAX)] | None = None
    recorded_at: datetime | None = None
    status: VideoStatus = VideoStatus.REGISTERED
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("file_mtime", "recorded_at", "created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else require_aware(value)

    @property
    def timeline_at(self) -> datetime:
        """The global-timeline key: recorded_at, else file_mtime (created_at is later)."""
        return self.recorded_at or self.file_mtime
