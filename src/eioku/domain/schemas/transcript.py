"""``transcript.segment``: one stretch of recognised speech."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from eioku.domain.schemas.common import Confidence, Payload


class TranscriptSegmentV1(Payload):
    """Speech recognised between the envelope's span start and end."""

    text: Annotated[str, Field(min_length=1, description="Recognised text, never empty")]
    speaker: str | None = Field(default=None, description="Speaker label from diarisation")
    confidence: Confidence | None = Field(default=None, description="Recogniser confidence")
    language: str = Field(default="en", min_length=1, description="Language code")
