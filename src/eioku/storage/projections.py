"""Writing, removing and rebuilding projection rows; deriving them is pure (eioku.projections)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import InvalidInput
from eioku.projections import PROJECTIONS, Projection, projections_for
from eioku.storage.backend import Backend
from eioku.storage.tables import PROJECTION_TABLES, artifacts, metadata, run_outputs

REBUILD_PAGE = 5_000
TABLES: dict[str, Table] = {table.name: table for table in PROJECTION_TABLES}
DERIVED = "run_outputs"

# Gives the stored envelopes of one artifact type, page by page.
EnvelopeSource = Callable[[str], Iterable[list[ArtifactEnvelope]]]


def projection_names() -> list[str]:
    """Every rebuildable derived table: the projections and run_outputs."""
    return [projection.table for projection in PROJECTIONS] + [DERIVED]


class ProjectionWriter:
    """Keeps projection tables and run_outputs in step with the artifacts table."""

    def __init__(self, conn: Connection, backend: Backend) -> None:
        self._conn = conn
        self._backend = backend

    def add(self, envelopes: Sequence[ArtifactEnvelope]) -> None:
        """Insert the rows derived from newly stored artifacts, and count them per run."""
        by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for envelope in envelopes:
            for projection in projections_for(envelope.artifact_type, envelope.schema_version):
                by_table[projection.table].append(projection.row(envelope))
        for name, rows in by_table.items():
            columns = list(rows[0])
            values = [tuple(row[c] for c in columns) for row in rows]
            self._backend.bulk_insert(self._conn, TABLES[name], columns, values)
        self._count(envelopes, sign=1)

    def removed(self, envelopes: Sequence[ArtifactEnvelope]) -> None:
        """Account for deleted artifacts (their projection rows go by cascade)."""
        self._count(envelopes, sign=-1)

    def _count(self, envelopes: Iterable[ArtifactEnvelope], *, sign: int) -> None:
        counts = Counter(
            (e.run_id, e.asset_id, e.artifact_type, e.model_profile.value) for e in envelopes
        )
        if not counts:
            return
        keys = ["run_id", "artifact_type", "model_profile"]
        upsert = self._backend.upsert(run_outputs, keys, add=["artifact_count"])
        rows = [
            {
                "run_id": run_id,
                "asset_id": asset_id,
                "artifact_type": artifact_type,
                "model_profile": profile,
                "artifact_count": sign * count,
            }
            for (run_id, asset_id, artifact_type, profile), count in sorted(counts.items())
        ]
        self._conn.execute(upsert, rows)
        if sign < 0:
            self._conn.execute(delete(run_outputs).where(run_outputs.c.artifact_count <= 0))

    def rebuild(self, names: Sequence[str] | None, envelopes_of: EnvelopeSource) -> dict[str, int]:
        """Drop and re-derive the named tables (all when None); returns rows per table."""
        wanted = list(names) if names else projection_names()
        unknown = sorted(set(wanted) - set(projection_names()))
        if unknown:
            raise InvalidInput(f"unknown projection(s): {', '.join(unknown)}")
        counts: dict[str, int] = {}
        for projection in PROJECTIONS:
            if projection.table in wanted:
                counts[projection.table] = self._rebuild_one(projection, envelopes_of)
        if DERIVED in wanted:
            counts[DERIVED] = self._rebuild_outputs()
        return counts

    def _rebuild_one(self, projection: Projection, envelopes_of: EnvelopeSource) -> int:
        table = TABLES[projection.table]
        self._conn.execute(delete(table))
        total = 0
        for page in envelopes_of(projection.artifact_type):
            accepted = (e for e in page if projection.accepts(e.artifact_type, e.schema_version))
            rows = [projection.row(e) for e in accepted]
            if rows:
                columns = list(rows[0])
                values = [tuple(row[c] for c in columns) for row in rows]
                self._backend.bulk_insert(self._conn, table, columns, values)
                total += len(rows)
        return total

    def _rebuild_outputs(self) -> int:
        self._conn.execute(delete(run_outputs))
        keys = [
            artifacts.c.run_id,
            artifacts.c.asset_id,
            artifacts.c.artifact_type,
            artifacts.c.model_profile,
        ]
        source = select(*keys, func.count()).group_by(*keys)
        names = ["run_id", "asset_id", "artifact_type", "model_profile", "artifact_count"]
        self._conn.execute(insert(run_outputs).from_select(names, source))
        return int(self._conn.execute(select(func.count()).select_from(run_outputs)).scalar_one())

    def snapshot(self, name: str) -> list[tuple[Any, ...]]:
        """Every row of a derived table without its surrogate id, sorted: rebuilds compare equal."""
        table = TABLES.get(name) if name != DERIVED else metadata.tables[DERIVED]
        if table is None:
            raise InvalidInput(f"unknown projection {name}")
        columns = [c for c in table.columns if c.name != "id"]
        order = table.primary_key.columns if name == DERIVED else [table.c.artifact_id]
        return [tuple(row) for row in self._conn.execute(select(*columns).order_by(*order))]
