"""``face.detection``: one detected face, with the library-wide identity cluster it joined."""

from __future__ import annotations

from pydantic import Field

from eioku.domain.schemas.common import BoundingBox, Confidence, FrameNumber, Payload


class FaceDetectionV1(Payload):
    """A face detector's hit; cluster_id groups faces of one person across the library."""

    confidence: Confidence
    bounding_box: BoundingBox
    cluster_id: str | None = Field(default=None, min_length=1, description="Identity cluster")
    frame_number: FrameNumber
