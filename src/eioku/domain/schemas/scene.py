"""``scene``: one shot between two cuts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from eioku.domain.schemas.common import FrameNumber, Payload


class SceneV1(Payload):
    """A shot; the envelope span covers it from its first to its last frame."""

    scene_index: Annotated[int, Field(ge=0, description="0 for the first shot of the video")]
    method: Annotated[str, Field(min_length=1, description="Detector, e.g. content, adaptive")]
    score: float = Field(allow_inf_nan=False, description="Detector score at the cut")
    frame_number: FrameNumber
