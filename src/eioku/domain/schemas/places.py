"""``place.classification``: the kind of place a frame shows."""

from __future__ import annotations

from pydantic import Field

from eioku.domain.schemas.common import Confidence, FrameNumber, Label, LabelScore, Payload


class PlaceClassificationV1(Payload):
    """A scene classifier's top label with its runners-up."""

    label: Label = Field(description="Top class, e.g. a Places365 category")
    confidence: Confidence
    alternative_labels: list[LabelScore] = Field(default_factory=list)
    frame_number: FrameNumber
