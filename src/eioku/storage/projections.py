"""Writing, removing and rebuilding projection rows; deriving them is pure (eioku.projections)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import InvalidInput
from eioku.projections import PROJECTIONS, Projection, projections_for
from eioku.storage.backend import Backend
from eioku.storage.selections import SelectionRepository
from eioku.storage.tables import PROJECTION_TABLES, artifacts, metadata, run_outputs, videos

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

    def __init__(self, conn: Connection, backend: Backend, selections: SelectionRepository) -> None:
        self._conn = conn
        self._backend = backend
        self._selections = selections

    def add(self, envelopes: Sequence[ArtifactEnvelope]) -> None:
        """Insert the rows derived from newly stored artifacts, and count them per run.

        Counting comes first so the new runs take part in selection: each row is written
        with its video's timeline position and whether the video's default policy selects
        it, and rows of runs the new ones displace are flipped off.
        """
        self._count(envelopes, sign=1)
        placement = _Placement(self._conn, self._selections)
        by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
        feeds: dict[tuple[str, int], tuple[Projection, ...]] = {}
        for envelope in envelopes:
            key = (envelope.artifact_type, envelope.schema_version)
            if (wanted := feeds.get(key)) is None:
                wanted = feeds[key] = projections_for(*key)
            for projection in wanted:
                row = projection.row(envelope)
                by_table[projection.table].append(placement.place(row, artifact_type=key[0]))
        for name, rows in by_table.items():
            columns = list(rows[0])
            self._backend.bulk_insert(self._conn, TABLES[name], columns, _values(rows, columns))
        for (asset_id, artifact_type), run_ids in placement.selected.items():
            self._flip(asset_id, artifact_type, run_ids)

    def removed(self, envelopes: Sequence[ArtifactEnvelope]) -> None:
        """Account for deleted artifacts (their projection rows go by cascade)."""
        self._count(envelopes, sign=-1)
        for asset_id, artifact_type in sorted({(e.asset_id, e.artifact_type) for e in envelopes}):
            self.refresh_selected(asset_id, artifact_type)

    def refresh_selected(self, asset_id: str, artifact_type: str) -> None:
        """Re-apply the video's default policy to the ``selected`` flags of one type."""
        self._flip(asset_id, artifact_type, self._selections.resolve(asset_id, artifact_type))

    def _flip(self, asset_id: str, artifact_type: str, run_ids: frozenset[str]) -> None:
        """Set ``selected`` to exactly the rows of ``run_ids``, touching only rows that change."""
        chosen = sorted(run_ids)
        for projection in PROJECTIONS:
            if projection.artifact_type != artifact_type:
                continue
            table = TABLES[projection.table]
            mine = table.c.asset_id == asset_id
            off = update(table).where(mine, table.c.selected, table.c.run_id.not_in(chosen))
            self._conn.execute(off.values(selected=False))
            if chosen:
                on = update(table).where(mine, ~table.c.selected, table.c.run_id.in_(chosen))
                self._conn.execute(on.values(selected=True))

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
        if DERIVED in wanted:  # first: selection flags of the projections depend on it
            counts[DERIVED] = self._rebuild_outputs()
        for projection in PROJECTIONS:
            if projection.table in wanted:
                counts[projection.table] = self._rebuild_one(projection, envelopes_of)
        return counts

    def _rebuild_one(self, projection: Projection, envelopes_of: EnvelopeSource) -> int:
        table = TABLES[projection.table]
        self._conn.execute(delete(table))
        total = 0
        placement = _Placement(self._conn, self._selections)
        for page in envelopes_of(projection.artifact_type):
            accepted = (e for e in page if projection.accepts(e.artifact_type, e.schema_version))
            kind = projection.artifact_type
            rows = [placement.place(projection.row(e), artifact_type=kind) for e in accepted]
            if rows:
                columns = list(rows[0])
                self._backend.bulk_insert(self._conn, table, columns, _values(rows, columns))
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


def _values(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows as tuples in ``columns`` order (``itemgetter`` of one key gives no tuple)."""
    if len(columns) == 1:
        return [(row[columns[0]],) for row in rows]
    pick = itemgetter(*columns)
    return [pick(row) for row in rows]


class _Placement:
    """Adds ``timeline_at`` and ``selected`` to projection rows, caching per video and type."""

    def __init__(self, conn: Connection, selections: SelectionRepository) -> None:
        self._conn = conn
        self._selections = selections
        self._timeline: dict[str, Any] = {}
        self.selected: dict[tuple[str, str], frozenset[str]] = {}

    def place(self, row: dict[str, Any], *, artifact_type: str) -> dict[str, Any]:
        """``row`` completed with its video's timeline key and its selection flag."""
        asset_id = row["asset_id"]
        if asset_id not in self._timeline:
            query = select(videos.c.timeline_at).where(videos.c.video_id == asset_id)
            self._timeline[asset_id] = self._conn.execute(query).scalar_one()
        key = (asset_id, artifact_type)
        if key not in self.selected:
            self.selected[key] = self._selections.resolve(*key)
        row["timeline_at"] = self._timeline[asset_id]
        row["selected"] = row["run_id"] in self.selected[key]
        return row
