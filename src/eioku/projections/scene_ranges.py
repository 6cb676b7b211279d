"""scene_ranges: next/previous shot."""

from __future__ import annotations

from eioku.projections.base import Projection

SCENE_RANGES = Projection(
    table="scene_ranges",
    artifact_type="scene",
    versions=frozenset({1}),
    extra=lambda payload: {"scene_index": payload["scene_index"]},
)
