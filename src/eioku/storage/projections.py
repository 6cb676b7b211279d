"""Writing, removing and rebuilding projection rows; deriving them is pure (eioku.projections)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import InvalidInput
from eioku.domain.selection import RunOutput
from eioku.projections import PROJECTIONS, Projection, projections_for
from eioku.storage.backend import Backend
from eioku.storage.selections import DEFAULT_POLICY, IN_CHUNK, SelectionRepository
from eioku.storage.tables import PROJECTION_TABLES, artifacts, metadata, run_outputs, videos

REBUILD_PAGE = 5_000
TABLES: dict[str, Table] = {table.name: table for table in PROJECTION_TABLES}
DERIVED = "run_outputs"
# Types whose selection flags live in some projection table.
PROJECTED_TYPES = frozenset(projection.artifact_type for projection in PROJECTIONS)

# Gives the stored envelopes of one artifact type, page by page.
EnvelopeSource = Callable[[str], Iterable[list[ArtifactEnvelope]]]
# How many artifacts a batch adds per (run_id, asset_id, artifact_type, model_profile).
Counts = Counter[tuple[str, str, str, str]]
# The same counts keyed (asset_id, artifact_type, run_id, model_profile).
Added = tuple[str, str, str, str]


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
        it. Where the new counts change what that policy selects (a new run becomes the
        latest), the stored rows are flipped to match; elsewhere they already are.
        """
        counts = _counts(envelopes)
        self._count(counts, sign=1)
        placement = _Placement(self._conn, self._selections)
        changed = placement.load(counts)
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
        for asset_id, artifact_type in changed:
            self._flip(asset_id, artifact_type, placement.selected[(asset_id, artifact_type)])

    def removed(self, envelopes: Sequence[ArtifactEnvelope]) -> None:
        """Account for deleted artifacts (their projection rows go by cascade)."""
        self._count(_counts(envelopes), sign=-1)
        for asset_id, artifact_type in sorted({(e.asset_id, e.artifact_type) for e in envelopes}):
            self.refresh_selected(asset_id, artifact_type)

    def retime(self, asset_id: str, timeline_at: datetime) -> None:
        """Move a video's projection rows to its new place on the global timeline."""
        for table in PROJECTION_TABLES:
            query = update(table).where(table.c.asset_id == asset_id)
            self._conn.execute(query.values(timeline_at=timeline_at))

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

    def _count(self, counts: Counts, *, sign: int) -> None:
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


def _counts(envelopes: Iterable[ArtifactEnvelope]) -> Counts:
    return Counter(
        (e.run_id, e.asset_id, e.artifact_type, e.model_profile.value) for e in envelopes
    )


def _values(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows as tuples in ``columns`` order (``itemgetter`` of one key gives no tuple)."""
    if len(columns) == 1:
        return [(row[columns[0]],) for row in rows]
    pick = itemgetter(*columns)
    return [pick(row) for row in rows]


class _Placement:
    """Adds ``timeline_at`` and ``selected`` to projection rows, caching per video and type.

    :meth:`load` reads what a whole batch needs in a few queries; :meth:`place` looks up
    anything not loaded one video / (video, type) at a time.
    """

    def __init__(self, conn: Connection, selections: SelectionRepository) -> None:
        self._conn = conn
        self._selections = selections
        self._timeline: dict[str, Any] = {}
        self.selected: dict[tuple[str, str], frozenset[str]] = {}

    def load(self, counts: Counts) -> list[tuple[str, str]]:
        """Resolve every (video, projected type) a batch adds to, its counts already stored.

        Returns, sorted, the (video, type) pairs whose rows stored before the batch no
        longer carry the right flag: a run it deselects, or a run it selects that already
        had rows. Stored rows are flagged for the selection before the batch, so no other
        row changes; the batch's own rows are placed with the selection after it.
        """
        keys = sorted({(a, kind) for _, a, kind, _ in counts if kind in PROJECTED_TYPES})
        if not keys:
            return []
        asset_ids = sorted({asset_id for asset_id, _ in keys})
        for start in range(0, len(asset_ids), IN_CHUNK):
            chunk = asset_ids[start : start + IN_CHUNK]
            query = select(videos.c.video_id, videos.c.timeline_at).where(
                videos.c.video_id.in_(chunk)
            )
            self._timeline.update(
                (row.video_id, row.timeline_at) for row in self._conn.execute(query)
            )
        kinds = sorted({kind for _, kind in keys})
        outputs = self._selections.outputs_of(asset_ids, kinds)
        stored = self._selections.stored_of(asset_ids)
        added: dict[Added, int] = {
            (asset_id, kind, run_id, profile): n
            for (run_id, asset_id, kind, profile), n in counts.items()
        }
        changed: list[tuple[str, str]] = []
        for key in keys:
            now = outputs.get(key, [])
            policy = stored.get(key, DEFAULT_POLICY)
            earlier = _without(now, key, added)
            after = self._selections.resolve_outputs(*key, now, policy)
            before = self._selections.resolve_outputs(*key, earlier, policy)
            self.selected[key] = after
            had_rows = {o.run_id for o in earlier if o.artifact_count > 0}
            if before - after or (after - before) & had_rows:
                changed.append(key)
        return changed

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


def _without(
    outputs: Sequence[RunOutput], key: tuple[str, str], added: Mapping[Added, int]
) -> list[RunOutput]:
    """``outputs`` of (video, type) ``key`` as they were before a batch ``added`` its counts."""
    asset_id, artifact_type = key
    return [
        replace(
            o,
            artifact_count=o.artifact_count
            - added.get((asset_id, artifact_type, o.run_id, o.model_profile.value), 0),
        )
        for o in outputs
    ]
