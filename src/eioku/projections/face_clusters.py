"""face_clusters: next/previous appearance of one identity cluster."""

from __future__ import annotations

from eioku.projections.base import Projection

FACE_CLUSTERS = Projection(
    table="face_clusters",
    artifact_type="face.detection",
    versions=frozenset({1}),
    extra=lambda payload: {
        "cluster_id": payload.get("cluster_id"),
        "confidence": payload["confidence"],
    },
)
