"""Find text inside one video: transcript, on-screen text, or both merged by time (SPEC §7)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    literal_column,
    select,
    union_all,
)

from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.selection import SelectionPolicy
from eioku.domain.text_query import render_snippet
from eioku.search.kinds import (
    Direction,
    Filters,
    Kind,
    TextSource,
    direction_of,
    spec_for,
)
from eioku.search.lookup import Lookup, build_lookup, check_position
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
    runs: dict[str, list[str]] | None = None
    if selection is not None:  # resolved to runs first; the video's own is the flag
        types = [spec.artifact_type for spec in specs]
        resolved = uow.selections.resolve_many_for_read(video_id, types, selection)
        runs = {kind: sorted(run_ids) for kind, run_ids in resolved.items()}
    searches = []
    for spec in specs:
        filters = Filters(q=q) if spec.text_filter == "q" else Filters(text=q)
        lookup = build_lookup(uow.backend, spec, filters, asset_id=video_id)
        chosen = None if runs is None else runs[spec.artifact_type]
        if lookup is not None and chosen != []:
            searches.append(_Search(lookup, chosen))
    found = _run(uow, video_id, searches, way=way, from_ms=from_ms, limit=limit) if searches else []
    if not found and selection is None and not uow.videos.exists(video_id):
        raise NotFound(f"video {video_id} not found", details={"video_id": video_id})
    key = lambda m: (m.start_ms, m.source.value, m.artifact_id)  # noqa: E731
    found.sort(key=key, reverse=way is Direction.PREV)
    return found[:limit]


@dataclass(frozen=True)
class _Search:
    """One source to search: its lookup, and the runs chosen (None: the selected flag)."""

    lookup: Lookup
    runs: list[str] | None

    @property
    def prefix(self) -> str:
        return self.lookup.spec.table.name


def _run(
    uow: UnitOfWork,
    video_id: str,
    searches: list[_Search],
    *,
    way: Direction,
    from_ms: int | None,
    limit: int,
) -> list[FindMatch]:
    """One statement searches every source, each through its own indexes."""
    values: dict[str, Any] = {"video_id": video_id, "limit": limit}
    if from_ms is not None:
        values["from_ms"] = from_ms
    shape: list[Hashable] = ["find", way, from_ms is None]
    for search in searches:
        values.update(search.lookup.values)
        runs = search.runs or ()
        values.update({f"{search.prefix}_run_{i}": run_id for i, run_id in enumerate(runs)})
        shape.append((None if search.runs is None else len(runs), *search.lookup.shape))

    def build() -> Select[Any]:
        branches = [_search(search, way, from_ms).subquery() for search in searches]
        return union_all(*(select(*branch.c) for branch in branches))  # type: ignore[return-value]

    rows = uow.statements.rows(uow.connection, tuple(shape), build, values)
    return [
        FindMatch(TextSource(source), artifact_id, start, end, render_snippet(snippet))
        for source, artifact_id, start, end, snippet in rows
    ]


def _search(search: _Search, way: Direction, from_ms: int | None) -> Select[Any]:
    """The ordered, limited search of one source."""
    lookup = search.lookup
    assert lookup.snippet is not None
    table = lookup.spec.table
    if search.runs is None:
        chosen: ColumnElement[bool] = table.c.selected
    else:
        chosen = table.c.run_id.in_(
            [bindparam(f"{search.prefix}_run_{i}", r) for i, r in enumerate(search.runs)]
        )
    scope = [table.c.asset_id == bindparam("video_id", type_=String), chosen, *lookup.conditions]
    if from_ms is not None:
        bound = bindparam("from_ms", from_ms, type_=BigInteger)
        scope.append(
            table.c.start_ms > bound if way is Direction.NEXT else table.c.start_ms < bound
        )
    columns = [table.c.start_ms, table.c.artifact_id]
    order = columns if way is Direction.NEXT else [column.desc() for column in columns]
    return (
        select(
            literal_column(f"'{SOURCE_OF[lookup.spec.kind].value}'", String).label("source"),
            table.c.artifact_id,
            table.c.start_ms,
            table.c.end_ms,
            lookup.snippet.label("snippet"),
        )
        .select_from(lookup.source)
        .where(*scope)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
    )


def _sources(source: TextSource | str) -> list[TextSource]:
    try:
        chosen = TextSource(source)
    except ValueError:
        raise InvalidQuery(f"unknown source {source!r}: use transcript, ocr or all") from None
    return [TextSource.TRANSCRIPT, TextSource.OCR] if chosen is TextSource.ALL else [chosen]
