"""The projection template: which artifacts it reads and how one becomes a row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eioku.domain.envelope import ArtifactEnvelope

ProjectionRow = dict[str, Any]


def common_columns(envelope: ArtifactEnvelope) -> ProjectionRow:
    """The columns every projection row carries, so selection applies inside index lookups."""
    return {
        "artifact_id": envelope.artifact_id,
        "asset_id": envelope.asset_id,
        "run_id": envelope.run_id,
        "model_profile": envelope.model_profile.value,
        "start_ms": envelope.span_start_ms,
        "end_ms": envelope.span_end_ms,
    }


@dataclass(frozen=True)
class Projection:
    """One derived table fed by one artifact type.

    Attributes:
        table: name of the projection table.
        artifact_type: the type it reads.
        versions: schema versions it understands; artifacts of other versions get no row
            until the projection learns them (a new version is a deliberate change).
        extra: payload -> the table's own columns.
    """

    table: str
    artifact_type: str
    versions: frozenset[int]
    extra: Callable[[dict[str, Any]], ProjectionRow]

    def accepts(self, artifact_type: str, schema_version: int) -> bool:
        """Whether artifacts of this type and version feed this projection."""
        return artifact_type == self.artifact_type and schema_version in self.versions

    def row(self, envelope: ArtifactEnvelope) -> ProjectionRow:
        """The one row this projection derives from ``envelope``."""
        return {**common_columns(envelope), **self.extra(envelope.payload)}
