"""``object.detection``: one detected object in one frame."""

from __future__ import annotations

from pydantic import Field

from eioku.domain.schemas.common import BoundingBox, Confidence, FrameNumber, Label, Payload


class ObjectDetectionV1(Payload):
    """An object detector's hit."""

    label: Label = Field(description="Class name, e.g. a COCO class such as 'dog'")
    confidence: Confidence
    bounding_box: BoundingBox
    frame_number: FrameNumber
