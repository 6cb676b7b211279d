"""Library-wide navigation along the global timeline (SPEC §7): global jump and the gallery.

Videos are ordered by (timeline_at, video_id) and artifacts inside a video by time, so one
position is the triple (timeline_at, video_id, ms). Projection rows carry timeline_at and
a ``selected`` flag (each video's default selection), and partial indexes over selected
rows make "the next dog anywhere after here" one index seek.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Tuple, select, tuple_

from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.text_query import render_snippet
from eioku.search.kinds import NO_FILTERS, Direction, Filters, Kind, direction_of, spec_for
from eioku.search.lookup import Lookup, build_lookup, check_position, preview_columns, preview_of
from eioku.storage.store import UnitOfWork
from eioku.storage.tables import videos

INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class GlobalJump:
    """Where the next/previous match in the library is, and whether more lie beyond."""

    video_id: str
    filename: str
    recorded_at: datetime | None
    start_ms: int
    end_ms: int
    artifact_ids: tuple[str, ...]
    preview: dict[str, Any]
    has_more: bool


def global_jump(
    uow: UnitOfWork,
    kind: Kind | str,
    direction: Direction | str,
    *,
    from_video_id: str | None = None,
    from_ms: int | None = None,
    filters: Filters = NO_FILTERS,
) -> GlobalJump:
    """The next/previous match across the library from a position.

    With no video, next starts before the first artifact of the library (one at 0 ms of
    the first video included) and prev after the last. With a video but no time, next
    starts at that video's beginning and prev at its end. Each video's default selection
    policy applies.

    Raises:
        NotFound: unknown starting video, or nothing in that direction.
        InvalidQuery: unknown kind/direction, filters that do not apply, a bad time.
    """
    spec = spec_for(kind)
    way = direction_of(direction)
    check_position(from_ms)
    if from_ms is not None and from_video_id is None:
        raise InvalidQuery("from_ms needs the video it is a position in (video_id)")
    lookup = build_lookup(uow.backend, spec, filters, asset_id=None)
    if lookup is None:
        raise _nothing(spec.kind, way)
    scope = _scope(lookup)
    position = _key(lookup, way)
    start = _start(uow, way, from_video_id, from_ms)
    if start is not None:
        scope.append(_beyond(position, start, way, inclusive=from_ms is None))
    order = [c if way is Direction.NEXT else c.desc() for c in position.clauses]
    first = select(*position.clauses).select_from(lookup.source).where(*scope).order_by(*order)
    target = uow.connection.execute(first.limit(1)).first()
    if target is None:
        raise _nothing(spec.kind, way)
    return _at(uow, lookup, scope, way, tuple(target))


def _scope(lookup: Lookup) -> list[ColumnElement[bool]]:
    return [lookup.spec.table.c.selected, *lookup.conditions]


def _key(lookup: Lookup, way: Direction) -> Any:
    table = lookup.spec.table
    edge = table.c.start_ms if way is Direction.NEXT else table.c.end_ms
    return tuple_(table.c.timeline_at, table.c.asset_id, edge)


def _start(
    uow: UnitOfWork, way: Direction, video_id: str | None, from_ms: int | None
) -> tuple[Any, ...] | None:
    """The position to search from, or None for the library's edge."""
    if video_id is None:
        return None
    timeline_at = uow.connection.execute(
        select(videos.c.timeline_at).where(videos.c.video_id == video_id)
    ).scalar()
    if timeline_at is None:
        raise NotFound(f"video {video_id} not found", details={"video_id": video_id})
    if from_ms is None:
        from_ms = 0 if way is Direction.NEXT else INT64_MAX
    return (timeline_at, video_id, from_ms)


def _beyond(
    position: Tuple, start: tuple[Any, ...], way: Direction, *, inclusive: bool
) -> ColumnElement[bool]:
    """Positions past ``start`` in direction ``way``.

    A start with no time is the video's edge (0 or INT64_MAX ms), which artifacts may
    touch, so it is included: a strict comparison would miss a span ending at INT64_MAX.
    """
    bound = tuple_(*start)
    if way is Direction.NEXT:
        return position >= bound if inclusive else position > bound
    return position <= bound if inclusive else position < bound


def _at(
    uow: UnitOfWork,
    lookup: Lookup,
    scope: list[ColumnElement[bool]],
    way: Direction,
    target: tuple[Any, ...],
) -> GlobalJump:
    """Gather the tied artifacts at ``target`` and check for more beyond it."""
    table = lookup.spec.table
    position = _key(lookup, way)
    snippet = [] if lookup.snippet is None else [lookup.snippet]
    tied = (
        select(
            table.c.artifact_id,
            table.c.start_ms,
            table.c.end_ms,
            *preview_columns(lookup.spec),
            *snippet,
        )
        .select_from(lookup.source)
        .where(*scope, position == tuple_(*target))
        .order_by(table.c.artifact_id)
    )
    rows = uow.connection.execute(tied).all()
    beyond = position > tuple_(*target) if way is Direction.NEXT else position < tuple_(*target)
    # Ordered like the jump itself, so the probe is one seek in the library index; without
    # ORDER BY PostgreSQL picks a sequential scan, which reads the whole table at the end
    # of the timeline where nothing lies beyond.
    order = [c if way is Direction.NEXT else c.desc() for c in position.clauses]
    more = select(table.c.id).select_from(lookup.source).where(*scope, beyond).order_by(*order)
    has_more = uow.connection.execute(more.limit(1)).first() is not None
    video = uow.videos.get(target[1])
    raw = rows[0][-1] if lookup.snippet is not None else None
    return GlobalJump(
        video_id=video.video_id,
        filename=video.filename,
        recorded_at=video.recorded_at,
        start_ms=min(row.start_ms for row in rows),
        end_ms=max(row.end_ms for row in rows),
        artifact_ids=tuple(row.artifact_id for row in rows),
        preview=preview_of(rows[0], lookup.spec, None if raw is None else render_snippet(raw)),
        has_more=has_more,
    )


def _nothing(kind: Kind, way: Direction) -> NotFound:
    return NotFound(
        f"no {way.value} {kind.value} in the library",
        details={"kind": kind.value, "direction": way.value},
    )
