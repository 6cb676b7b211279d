"""``ocr.text``: text read on screen, as a polygon in the frame."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from eioku.domain.schemas.common import Confidence, FrameNumber, Payload, Point


class OcrTextV1(Payload):
    """On-screen text; the envelope span covers the time it stays visible."""

    text: Annotated[str, Field(min_length=1, description="Text read, never empty")]
    confidence: Confidence
    bounding_box: Annotated[list[Point], Field(min_length=3, description="Polygon, >= 3 points")]
    language: str | None = None
    frame_number: FrameNumber
