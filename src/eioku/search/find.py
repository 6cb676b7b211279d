"""Find text inside one video: transcript, on-screen text, or both merged by time (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from eioku.domain.errors import InvalidQuery
from eioku.domain.selection import SelectionPolicy
from eioku.domain.text_query import render_snippet
from eioku.search.kinds import Direction, Filters, Kind, TextSource, direction_of, spec_for
from eioku.search.lookup import build_lookup, check_position
from eioku.storage.store import UnitOfWork

MAX_LIMIT = 100
SOURCES = {TextSource.TRANSCRIPT: Kind.TRANSCRIPT, TextSource.OCR: Kind.OCR}


@dataclass(frozen=True)
class FindMatch:
    """One place the text occurs."""

    source: TextSource
    artifact_id: str
    start_ms: int
    end_ms: int
    snippet: str


def find(
    uow: UnitOfWork,
    video_id: str,
    q: str,
    *,
    direction: Direction | str = Direction.NEXT,
    from_ms: int | None = None,
    source: TextSource | str = TextSource.ALL,
    selection: SelectionPolicy | None = None,
    limit: int = 10,
) -> list[FindMatch]:
    """Matches of ``q`` starting after ``from_ms`` ascending (next) or before it descending.

    ``source=all`` merges both sources by time, each match tagged with its source; an
    empty or punctuation-only ``q`` finds nothing.

    Raises:
        NotFound: unknown video.
        InvalidQuery: unknown source/direction, limit outside 1..100, bad time or policy.
    """
    way = direction_of(direction)
    sources = _sources(source)
    check_position(from_ms)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}")
    found: list[FindMatch] = []
    for text_source in sources:
        found += _find_in(
            uow,
            video_id,
            q,
            text_source,
            way=way,
            from_ms=from_ms,
            selection=selection,
            limit=limit,
        )
    key = lambda m: (m.start_ms, m.source.value, m.artifact_id)  # noqa: E731
    found.sort(key=key, reverse=way is Direction.PREV)
    return found[:limit]


def _find_in(
    uow: UnitOfWork,
    video_id: str,
    q: str,
    source: TextSource,
    *,
    way: Direction,
    from_ms: int | None,
    selection: SelectionPolicy | None,
    limit: int,
) -> list[FindMatch]:
    spec = spec_for(SOURCES[source])
    filters = Filters(q=q) if spec.text_filter == "q" else Filters(text=q)
    lookup = build_lookup(uow.backend, spec, filters, asset_id=video_id)
    run_ids = uow.selections.resolve_for_read(video_id, spec.artifact_type, selection)
    if lookup is None or lookup.snippet is None or not run_ids:
        return []
    table = spec.table
    scope = [table.c.asset_id == video_id, table.c.run_id.in_(sorted(run_ids)), *lookup.conditions]
    if from_ms is not None:
        scope.append(
            table.c.start_ms > from_ms if way is Direction.NEXT else table.c.start_ms < from_ms
        )
    columns = [table.c.start_ms, table.c.artifact_id]
    order = columns if way is Direction.NEXT else [column.desc() for column in columns]
    query = (
        select(table.c.artifact_id, table.c.start_ms, table.c.end_ms, lookup.snippet)
        .select_from(lookup.source)
        .where(*scope)
        .order_by(*order)
        .limit(limit)
    )
    return [
        FindMatch(source, row[0], row[1], row[2], render_snippet(row[3]))
        for row in uow.connection.execute(query)
    ]


def _sources(source: TextSource | str) -> list[TextSource]:
    try:
        chosen = TextSource(source)
    except ValueError:
        raise InvalidQuery(f"unknown source {source!r}: use transcript, ocr or all") from None
    return [TextSource.TRANSCRIPT, TextSource.OCR] if chosen is TextSource.ALL else [chosen]
