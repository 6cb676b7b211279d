"""Building blocks shared by payload schemas: pixel boxes, polygons, confidences."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Confidence = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, description="0..1")]
FrameNumber = Annotated[
    int, Field(ge=0, le=2**63 - 1, description="Index of the decoded frame the result came from")
]
Pixels = Annotated[float, Field(allow_inf_nan=False, description="Pixels of the decoded frame")]
Label = Annotated[str, Field(min_length=1, max_length=256)]


class Payload(BaseModel):
    """Base of every payload schema: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class BoundingBox(Payload):
    """Axis-aligned box in pixels, origin at the top-left of the frame."""

    x: Pixels
    y: Pixels
    width: Annotated[Pixels, Field(ge=0)]
    height: Annotated[Pixels, Field(ge=0)]


class Point(Payload):
    """A polygon vertex in pixels, origin at the top-left of the frame."""

    x: Pixels
    y: Pixels


class LabelScore(Payload):
    """An alternative label with its confidence."""

    label: Label
    confidence: Confidence
