"""Library-wide navigation along the global timeline (SPEC §7): global jump and the gallery.

Videos are ordered by (timeline_at, video_id) and artifacts inside a video by time, so one
position is the triple (timeline_at, video_id, ms). Projection rows carry timeline_at and
a ``selected`` flag (each video's default selection), and partial indexes over selected
rows make "the next dog anywhere after here" one index seek.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, String, Tuple, bindparam, select, tuple_

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
    values = dict(lookup.values)
    if from_video_id is not None:
        values["video_id"] = from_video_id
        values["from_ms"] = (
            (0 if way is Direction.NEXT else INT64_MAX) if from_ms is None else from_ms
        )
    shape = ("global", way, from_video_id is None, from_ms is None, *lookup.shape)
    build = lambda: _landing(lookup, way, from_video_id, from_ms)  # noqa: E731
    # Without a text filter one library index serves every value: plan it once.
    plan_once = lookup.text is None
    rows = uow.statements.rows(uow.connection, shape, build, values, plan_once=plan_once)
    if rows:
        return _jump_of(rows, lookup)
    # Only a miss pays for telling an unknown video from an empty direction.
    if from_video_id is not None and not uow.videos.exists(from_video_id):
        raise NotFound(f"video {from_video_id} not found", details={"video_id": from_video_id})
    raise _nothing(spec.kind, way)


def _landing(
    lookup: Lookup, way: Direction, video_id: str | None, from_ms: int | None
) -> Select[Any]:
    """One statement for the whole jump: the seek, the tied rows, their video, has_more.

    The CTE ``target`` is the seek (the first position past the start, through the
    library index). The outer query reads every row at that position with its video,
    and a probe seeks once more for a position beyond it. Both see the target as three
    scalar subqueries, constants to the planner: a seek by equality, and a range seek on
    the whole (timeline_at, asset_id, ms) key. Each subquery names the projection table
    in its own scope, so one lookup serves all three.
    """
    table = lookup.spec.table
    scope = [table.c.selected, *lookup.conditions]
    position = _key(lookup, way)
    seek = list(scope)
    if video_id is not None:
        start = _start(way, video_id, from_ms)
        seek.append(_beyond(position, start, way, inclusive=from_ms is None))
    target = _first(lookup, position, seek, way).cte("target")
    at = tuple_(*(select(column).scalar_subquery() for column in target.c))
    beyond = position > at if way is Direction.NEXT else position < at
    # A scalar subquery, not EXISTS: PostgreSQL drops ORDER BY and LIMIT from an EXISTS
    # subquery, and without them it scans the table at the end of the timeline.
    probe = _first(lookup, position, [*scope, beyond], way).with_only_columns(table.c.id)
    more = probe.correlate(None).scalar_subquery()
    snippet = [] if lookup.snippet is None else [lookup.snippet]
    return (
        select(
            table.c.asset_id,
            table.c.artifact_id,
            table.c.start_ms,
            table.c.end_ms,
            videos.c.filename,
            videos.c.recorded_at,
            more.is_not(None).label("has_more"),
            *preview_columns(lookup.spec),
            *snippet,
        )
        .select_from(lookup.source.join(videos, videos.c.video_id == table.c.asset_id))
        .where(*scope, position == at)
        .order_by(table.c.artifact_id)
    )


def _first(
    lookup: Lookup, position: Tuple, scope: list[ColumnElement[bool]], way: Direction
) -> Select[Any]:
    """The first position in ``scope`` along ``way``: one seek in the library index.

    "+ ''" and "+ 0" change no value; they strip SQLite's column affinity from the
    result, without which SQLite bounds an index range on a row value by its first
    element only, unless the later ones are bound parameters.
    """
    timeline_at, asset_id, edge = position.clauses
    order = [c if way is Direction.NEXT else c.desc() for c in position.clauses]
    return (
        select(timeline_at, (asset_id + "").label("asset_id"), (edge + 0).label(edge.name))
        .select_from(lookup.source)
        .where(*scope)
        .order_by(*order)
        .limit(1)
    )


def _key(lookup: Lookup, way: Direction) -> Any:
    table = lookup.spec.table
    edge = table.c.start_ms if way is Direction.NEXT else table.c.end_ms
    return tuple_(table.c.timeline_at, table.c.asset_id, edge)


def _start(way: Direction, video_id: str, from_ms: int | None) -> tuple[Any, ...]:
    """The position to search from: the video's place on the timeline, and a time in it.

    The video's timeline_at is a scalar subquery (NULL for an unknown video, which
    matches nothing), so finding the start costs no round trip of its own.
    """
    video = bindparam("video_id", video_id, type_=String)
    timeline_at = (
        select(videos.c.timeline_at).where(videos.c.video_id == video).correlate(None)
    ).scalar_subquery()
    if from_ms is None:
        from_ms = 0 if way is Direction.NEXT else INT64_MAX
    return (timeline_at, video, bindparam("from_ms", from_ms, type_=BigInteger))


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


def _jump_of(rows: Sequence[tuple[Any, ...]], lookup: Lookup) -> GlobalJump:
    """The answer from the landing rows (every artifact at the target position), whose
    columns are those :func:`_landing` selects."""
    first = rows[0]
    asset_id, _, _, _, filename, recorded_at, has_more = first[:7]
    names = [column.name for column in preview_columns(lookup.spec)]
    preview = dict(zip(names, first[7 : 7 + len(names)], strict=True))
    raw = first[-1] if lookup.snippet is not None else None
    return GlobalJump(
        video_id=asset_id,
        filename=filename,
        recorded_at=recorded_at,
        start_ms=min(row[2] for row in rows),
        end_ms=max(row[3] for row in rows),
        artifact_ids=tuple(row[1] for row in rows),
        preview=preview_of(preview, lookup.spec, None if raw is None else render_snippet(raw)),
        has_more=bool(has_more),
    )


def _nothing(kind: Kind, way: Direction) -> NotFound:
    return NotFound(
        f"no {way.value} {kind.value} in the library",
        details={"kind": kind.value, "direction": way.value},
    )
