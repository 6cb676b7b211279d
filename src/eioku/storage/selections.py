"""Selection policies: stored per (video, type), and resolved to run ids for every read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, delete, literal, select, union_all

from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.selection import (
    STORABLE_MODES,
    RunOutput,
    SelectionMode,
    SelectionPolicy,
    select_runs,
)
from eioku.storage.backend import Backend
from eioku.storage.clock import utcnow
from eioku.storage.tables import artifact_selections, artifacts, run_outputs, runs, videos

DEFAULT_POLICY = SelectionPolicy(mode=SelectionMode.LATEST)
# Videos per query when loading for many at once (well under every engine's parameter limit).
IN_CHUNK = 500


class SelectionRepository:
    """Stored policies and their resolution; every read path goes through :meth:`resolve`."""

    def __init__(self, conn: Connection, backend: Backend) -> None:
        self._conn = conn
        self._backend = backend
        # Told when a stored policy changes, so derived selection flags follow it.
        self.on_change: Callable[[str, str], None] = lambda _asset, _type: None

    def get(self, asset_id: str, artifact_type: str) -> SelectionPolicy | None:
        """The stored policy for (video, type), or None."""
        query = select(artifact_selections).where(
            artifact_selections.c.asset_id == asset_id,
            artifact_selections.c.artifact_type == artifact_type,
        )
        row = self._conn.execute(query).first()
        return None if row is None else _policy(row)

    def stored_of(self, asset_ids: Sequence[str]) -> dict[tuple[str, str], SelectionPolicy]:
        """Every stored policy of these videos, by (video, type): :meth:`get` for many."""
        found: dict[tuple[str, str], SelectionPolicy] = {}
        for chunk in _chunks(asset_ids):
            query = select(artifact_selections).where(artifact_selections.c.asset_id.in_(chunk))
            for row in self._conn.execute(query):
                found[(row.asset_id, row.artifact_type)] = _policy(row)
        return found

    def effective(self, asset_id: str, artifact_type: str) -> SelectionPolicy:
        """The policy ``default`` means: the stored one, else ``latest`` (SPEC §5)."""
        return self.get(asset_id, artifact_type) or DEFAULT_POLICY

    def set(self, asset_id: str, artifact_type: str, policy: SelectionPolicy) -> SelectionPolicy:
        """Store a policy after checking it can be honoured.

        Raises:
            NotFound: the video does not exist.
            InvalidQuery: a non-storable mode, or a pin to a run or artifact that does not
                exist for this video and type.
        """
        if policy.mode not in STORABLE_MODES:
            raise InvalidQuery(f"selection mode {policy.mode.value!r} cannot be stored")
        exists = select(videos.c.video_id).where(videos.c.video_id == asset_id)
        if self._conn.execute(exists).first() is None:
            raise NotFound(f"video {asset_id} not found", details={"video_id": asset_id})
        if policy.mode is SelectionMode.PINNED:
            self._pinned_run(asset_id, artifact_type, policy)
        values = {
            "asset_id": asset_id,
            "artifact_type": artifact_type,
            "selection_mode": policy.mode.value,
            "preferred_profile": policy.preferred_profile,
            "pinned_run_id": policy.pinned_run_id,
            "pinned_artifact_id": policy.pinned_artifact_id,
            "updated_at": utcnow(),
        }
        upsert = self._backend.upsert(artifact_selections, ["asset_id", "artifact_type"])
        self._conn.execute(upsert, values)
        self.on_change(asset_id, artifact_type)
        return policy

    def delete(self, asset_id: str, artifact_type: str) -> bool:
        """Remove the stored policy; returns whether one existed."""
        query = delete(artifact_selections).where(
            artifact_selections.c.asset_id == asset_id,
            artifact_selections.c.artifact_type == artifact_type,
        )
        removed = self._conn.execute(query).rowcount > 0
        if removed:
            self.on_change(asset_id, artifact_type)
        return removed

    def outputs(self, asset_id: str, artifact_type: str) -> list[RunOutput]:
        """What each run produced for (video, type)."""
        return self.outputs_by_type(asset_id, [artifact_type]).get(artifact_type, [])

    def outputs_by_type(
        self, asset_id: str, artifact_types: Iterable[str] | None = None
    ) -> dict[str, list[RunOutput]]:
        """Run outputs of a video grouped by type (all types when None)."""
        query = _outputs_query().where(run_outputs.c.asset_id == asset_id)
        if artifact_types is not None:
            query = query.where(run_outputs.c.artifact_type.in_(list(artifact_types)))
        grouped: dict[str, list[RunOutput]] = defaultdict(list)
        for row in self._conn.execute(query):
            grouped[row.artifact_type].append(_output(row))
        return dict(grouped)

    def outputs_of(
        self, asset_ids: Sequence[str], artifact_types: Sequence[str]
    ) -> dict[tuple[str, str], list[RunOutput]]:
        """Run outputs of these videos and types, by (video, type): :meth:`outputs` for many."""
        grouped: dict[tuple[str, str], list[RunOutput]] = defaultdict(list)
        for chunk in _chunks(asset_ids):
            query = _outputs_query().where(
                run_outputs.c.asset_id.in_(chunk),
                run_outputs.c.artifact_type.in_(list(artifact_types)),
            )
            for row in self._conn.execute(query):
                grouped[(row.asset_id, row.artifact_type)].append(_output(row))
        return dict(grouped)

    def resolve(
        self, asset_id: str, artifact_type: str, requested: SelectionPolicy | None = None
    ) -> frozenset[str]:
        """Run ids whose artifacts a reader sees for (video, type) under ``requested``."""
        outputs = self.outputs(asset_id, artifact_type)
        return self.resolve_outputs(asset_id, artifact_type, outputs, requested)

    def resolve_for_read(
        self, asset_id: str, artifact_type: str, requested: SelectionPolicy | None = None
    ) -> frozenset[str]:
        """:meth:`resolve` for a read path, NotFound for an unknown video, in one query.

        The video row, the run outputs and the stored policy come back together, so a
        navigation request pays one round trip before its index seek instead of three.
        """
        return self.resolve_many_for_read(asset_id, [artifact_type], requested)[artifact_type]

    def resolve_many_for_read(
        self, asset_id: str, artifact_types: Sequence[str], requested: SelectionPolicy | None
    ) -> dict[str, frozenset[str]]:
        """:meth:`resolve_for_read` for several types (find in every text source), still
        in one query: one branch per type, joined by UNION ALL."""
        branches = [_read_query(asset_id, kind) for kind in dict.fromkeys(artifact_types)]
        query = branches[0] if len(branches) == 1 else union_all(*branches)
        rows = self._conn.execute(query).all()
        if not rows:
            raise NotFound(f"video {asset_id} not found", details={"video_id": asset_id})
        by_type: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_type[row.artifact_type].append(row)
        return {
            kind: self._resolve_rows(asset_id, kind, by_type[kind], requested)
            for kind in artifact_types
        }

    def _resolve_rows(
        self, asset_id: str, artifact_type: str, rows: list[Any], requested: SelectionPolicy | None
    ) -> frozenset[str]:
        outputs = [_output(row) for row in rows if row.run_id is not None]
        policy = requested or SelectionPolicy()
        if policy.mode is SelectionMode.DEFAULT:
            stored = rows[0].selection_mode is not None
            policy = _policy(rows[0]) if stored else DEFAULT_POLICY
        return self.resolve_outputs(asset_id, artifact_type, outputs, policy)

    def resolve_outputs(
        self,
        asset_id: str,
        artifact_type: str,
        outputs: list[RunOutput],
        requested: SelectionPolicy | None = None,
    ) -> frozenset[str]:
        """Like :meth:`resolve` when the outputs are already loaded."""
        policy = requested or SelectionPolicy()
        if policy.mode is SelectionMode.DEFAULT:
            policy = self.effective(asset_id, artifact_type)
        if policy.mode is SelectionMode.PINNED:
            run_id = self._pinned_run(asset_id, artifact_type, policy)
            policy = policy.model_copy(update={"pinned_run_id": run_id})
        return select_runs(policy, outputs)

    def _pinned_run(self, asset_id: str, artifact_type: str, policy: SelectionPolicy) -> str:
        """The run a pinned policy names, checked to belong to this video (and type)."""
        if policy.pinned_artifact_id is not None:
            query = select(artifacts.c.run_id).where(
                artifacts.c.artifact_id == policy.pinned_artifact_id,
                artifacts.c.asset_id == asset_id,
                artifacts.c.artifact_type == artifact_type,
            )
            run_id = self._conn.execute(query).scalar()
            if run_id is None:
                raise InvalidQuery(
                    f"pinned artifact {policy.pinned_artifact_id} is not a {artifact_type} "
                    f"artifact of video {asset_id}"
                )
            if policy.pinned_run_id is not None and policy.pinned_run_id != run_id:
                raise InvalidQuery("pinned run and pinned artifact disagree")
            return str(run_id)
        query = select(runs.c.run_id).where(
            runs.c.run_id == policy.pinned_run_id, runs.c.asset_id == asset_id
        )
        if self._conn.execute(query).first() is None:
            raise InvalidQuery(
                f"pinned run {policy.pinned_run_id} is not a run of video {asset_id}"
            )
        return str(policy.pinned_run_id)


def _read_query(asset_id: str, artifact_type: str) -> Select[Any]:
    """The video's row (none: unknown video) with each run output of one type and the
    type's stored policy, if any (every row carries the policy)."""
    o, s = run_outputs, artifact_selections
    return (
        select(
            literal(artifact_type).label("artifact_type"),
            videos.c.video_id,
            o.c.run_id,
            o.c.model_profile,
            runs.c.started_at,
            o.c.artifact_count,
            s.c.selection_mode,
            s.c.preferred_profile,
            s.c.pinned_run_id,
            s.c.pinned_artifact_id,
        )
        .select_from(
            videos.outerjoin(
                o, (o.c.asset_id == videos.c.video_id) & (o.c.artifact_type == artifact_type)
            )
            .outerjoin(runs, runs.c.run_id == o.c.run_id)
            .outerjoin(
                s, (s.c.asset_id == videos.c.video_id) & (s.c.artifact_type == artifact_type)
            )
        )
        .where(videos.c.video_id == asset_id)
    )


def _chunks(asset_ids: Sequence[str]) -> Iterable[list[str]]:
    ordered = sorted(set(asset_ids))
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


def _policy(row: Any) -> SelectionPolicy:
    return SelectionPolicy(
        mode=SelectionMode(row.selection_mode),
        preferred_profile=row.preferred_profile,
        pinned_run_id=row.pinned_run_id,
        pinned_artifact_id=row.pinned_artifact_id,
    )


def _outputs_query() -> Select[Any]:
    return select(
        run_outputs.c.asset_id,
        run_outputs.c.artifact_type,
        run_outputs.c.run_id,
        run_outputs.c.model_profile,
        runs.c.started_at,
        run_outputs.c.artifact_count,
    ).join(runs, runs.c.run_id == run_outputs.c.run_id)


def _output(row: Any) -> RunOutput:
    return RunOutput(
        row.run_id, ModelProfile(row.model_profile), row.started_at, row.artifact_count
    )
