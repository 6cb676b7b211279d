"""``video.metadata``: container and stream facts, one artifact spanning the whole video."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from eioku.domain.envelope import require_aware
from eioku.domain.schemas.common import Payload

NonNegative = Annotated[int, Field(ge=0, le=2**63 - 1)]


class VideoMetadataV1(Payload):
    """What the container says about the file."""

    duration_ms: NonNegative
    width: NonNegative
    height: NonNegative
    fps: float = Field(ge=0, allow_inf_nan=False)
    video_codec: str
    audio_codec: str | None = None
    container: str
    file_size: NonNegative
    recorded_at: datetime | None = Field(default=None, description="From container/EXIF tags")
    gps_latitude: float | None = Field(default=None, ge=-90, le=90)
    gps_longitude: float | None = Field(default=None, ge=-180, le=180)
    gps_altitude: float | None = Field(default=None, allow_inf_nan=False)
    camera_make: str | None = None
    camera_model: str | None = None

    @field_validator("recorded_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else require_aware(value)
