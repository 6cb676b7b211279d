"""Jump next/previous inside one video (SPEC §7), as ordered index seeks.

next from t: the smallest start > t; prev from t: the largest end < t. Every artifact
sharing that start (next) or end (prev) comes back together, ordered by id, and the jump
target covers them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select

from eioku.domain.errors import NotFound
from eioku.domain.selection import SelectionPolicy
from eioku.search.kinds import NO_FILTERS, Direction, Filters, Kind, direction_of, spec_for
from eioku.search.lookup import Lookup, build_lookup, check_position
from eioku.storage.store import UnitOfWork


@dataclass(frozen=True)
class Jump:
    """Where to jump in one video, and the artifacts found there."""

    video_id: str
    start_ms: int
    end_ms: int
    artifact_ids: tuple[str, ...]


def jump(
    uow: UnitOfWork,
    video_id: str,
    kind: Kind | str,
    direction: Direction | str,
    *,
    from_ms: int | None = None,
    filters: Filters = NO_FILTERS,
    selection: SelectionPolicy | None = None,
) -> Jump:
    """The next or previous ``kind`` in a video from ``from_ms`` (None: from the edge).

    Raises:
        NotFound: unknown video, or nothing matches in that direction.
        InvalidQuery: unknown kind/direction, a filter that does not apply, a bad time or
            an invalid selection policy.
    """
    spec = spec_for(kind)
    way = direction_of(direction)
    check_position(from_ms)
    lookup = build_lookup(uow.backend, spec, filters, asset_id=video_id, snippet=False)
    run_ids = uow.selections.resolve_for_read(video_id, spec.artifact_type, selection)
    if lookup is None or not run_ids:
        raise _nothing(video_id, spec.kind, way)
    table = spec.table
    scope = [table.c.asset_id == video_id, table.c.run_id.in_(sorted(run_ids)), *lookup.conditions]
    edge = table.c.start_ms if way is Direction.NEXT else table.c.end_ms
    if from_ms is not None:
        scope.append(edge > from_ms if way is Direction.NEXT else edge < from_ms)
    order = edge if way is Direction.NEXT else edge.desc()
    # One statement: the inner seek finds the target edge, the outer query every artifact
    # tied on it (both through the same index).
    first = select(edge).select_from(lookup.source).where(*scope).order_by(order).limit(1)
    rows = _tied(uow, lookup, [*scope, edge == first.scalar_subquery()])
    if not rows:
        raise _nothing(video_id, spec.kind, way)
    return Jump(
        video_id=video_id,
        start_ms=min(row.start_ms for row in rows),
        end_ms=max(row.end_ms for row in rows),
        artifact_ids=tuple(row.artifact_id for row in rows),
    )


def _tied(uow: UnitOfWork, lookup: Lookup, scope: list[ColumnElement[bool]]) -> list[Any]:
    """The artifacts matching ``scope`` (those at the jump target), by id."""
    table = lookup.spec.table
    query = (
        select(table.c.artifact_id, table.c.start_ms, table.c.end_ms)
        .select_from(lookup.source)
        .where(*scope)
        .order_by(table.c.artifact_id)
    )
    return list(uow.connection.execute(query).all())


def _nothing(video_id: str, kind: Kind, way: Direction) -> NotFound:
    return NotFound(
        f"no {way.value} {kind.value} in video {video_id}",
        details={"video_id": video_id, "kind": kind.value, "direction": way.value},
    )
