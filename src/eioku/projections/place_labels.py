"""place_labels: next/previous frame classified as a given kind of place."""

from __future__ import annotations

from eioku.projections.base import Projection

PLACE_LABELS = Projection(
    table="place_labels",
    artifact_type="place.classification",
    versions=frozenset({1}),
    extra=lambda payload: {"label": payload["label"], "confidence": payload["confidence"]},
)
