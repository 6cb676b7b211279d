"""Find text inside one video: transcript, on-screen text, or both merged by time (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, literal, select, union_all

from eioku.domain.errors import InvalidQuery
from eioku.domain.selection import SelectionPolicy
from eioku.domain.text_query import render_snippet
from eioku.search.kinds import (
    Direction,
    Filters,
    Kind,
    KindSpec,
    TextSource,
    direction_of,
    spec_for,
)
from eioku.search.lookup import build_lookup, check_position
from eioku.storage.store import UnitOfWork

MAX_LIMIT = 100
SOURCES = {TextSource.TRANSCRIPT: Kind.TRANSCRIPT, TextSource.OCR: Kind.OCR}
SOURCE_OF = {kind: source for source, kind in SOURCES.items()}


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
    specs = [spec_for(SOURCES[text_source]) for text_source in sources]
    types = [spec.artifact_type for spec in specs]
    # One query resolves the selection of every source (and checks the video) ...
    run_ids = uow.selections.resolve_many_for_read(video_id, types, selection)
    searches = [
        _search(uow, video_id, q, spec, runs=run_ids[spec.artifact_type], way=way, from_ms=from_ms)
        for spec in specs
    ]
    branches = [search.limit(limit).subquery() for search in searches if search is not None]
    if not branches:
        return []
    # ... and one statement searches them all, each source through its own indexes.
    query = union_all(*(select(*branch.c) for branch in branches))
    found = [
        FindMatch(TextSource(row[0]), row[1], row[2], row[3], render_snippet(row[4]))
        for row in uow.connection.execute(query)
    ]
    key = lambda m: (m.start_ms, m.source.value, m.artifact_id)  # noqa: E731
    found.sort(key=key, reverse=way is Direction.PREV)
    return found[:limit]


def _search(
    uow: UnitOfWork,
    video_id: str,
    q: str,
    spec: KindSpec,
    *,
    runs: frozenset[str],
    way: Direction,
    from_ms: int | None,
) -> Select[Any] | None:
    """The ordered search of one source (without its limit); None when it cannot match."""
    filters = Filters(q=q) if spec.text_filter == "q" else Filters(text=q)
    lookup = build_lookup(uow.backend, spec, filters, asset_id=video_id)
    if lookup is None or lookup.snippet is None or not runs:
        return None
    table = spec.table
    scope = [table.c.asset_id == video_id, table.c.run_id.in_(sorted(runs)), *lookup.conditions]
    if from_ms is not None:
        scope.append(
            table.c.start_ms > from_ms if way is Direction.NEXT else table.c.start_ms < from_ms
        )
    columns = [table.c.start_ms, table.c.artifact_id]
    order = columns if way is Direction.NEXT else [column.desc() for column in columns]
    return (
        select(
            literal(SOURCE_OF[spec.kind].value).label("source"),
            table.c.artifact_id,
            table.c.start_ms,
            table.c.end_ms,
            lookup.snippet.label("snippet"),
        )
        .select_from(lookup.source)
        .where(*scope)
        .order_by(*order)
    )


def _sources(source: TextSource | str) -> list[TextSource]:
    try:
        chosen = TextSource(source)
    except ValueError:
        raise InvalidQuery(f"unknown source {source!r}: use transcript, ocr or all") from None
    return [TextSource.TRANSCRIPT, TextSource.OCR] if chosen is TextSource.ALL else [chosen]
