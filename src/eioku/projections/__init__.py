"""Projections: pure functions from an artifact envelope to rows of a derived table (SPEC §6).

Each module declares one :class:`Projection`; :data:`PROJECTIONS` lists them all. Storage
writes the rows in the same transaction as the artifacts and can rebuild any table.
"""

from __future__ import annotations

from eioku.projections.base import Projection, ProjectionRow, common_columns
from eioku.projections.face_clusters import FACE_CLUSTERS
from eioku.projections.object_labels import OBJECT_LABELS
from eioku.projections.ocr_fts import OCR_FTS
from eioku.projections.place_labels import PLACE_LABELS
from eioku.projections.scene_ranges import SCENE_RANGES
from eioku.projections.transcript_fts import TRANSCRIPT_FTS

PROJECTIONS: tuple[Projection, ...] = (
    TRANSCRIPT_FTS,
    OCR_FTS,
    OBJECT_LABELS,
    FACE_CLUSTERS,
    PLACE_LABELS,
    SCENE_RANGES,
)

__all__ = ["PROJECTIONS", "Projection", "ProjectionRow", "common_columns", "projections_for"]


def projections_for(artifact_type: str, schema_version: int) -> tuple[Projection, ...]:
    """The projections that derive rows from artifacts of this type and version."""
    return tuple(p for p in PROJECTIONS if p.accepts(artifact_type, schema_version))
