"""object_labels: next/previous object by label and minimum confidence."""

from __future__ import annotations

from eioku.projections.base import Projection

OBJECT_LABELS = Projection(
    table="object_labels",
    artifact_type="object.detection",
    versions=frozenset({1}),
    extra=lambda payload: {"label": payload["label"], "confidence": payload["confidence"]},
)
