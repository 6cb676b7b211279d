"""The library gallery: every match of a kind across the library, page by page (keyset).

Results follow the global timeline and each video's default selection, through the same
partial indexes as global jump; ``by_video`` counts matches per video instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_

from eioku.domain.errors import InvalidQuery
from eioku.domain.text_query import render_snippet
from eioku.search.kinds import NO_FILTERS, Filters, Kind, spec_for
from eioku.search.lookup import build_lookup, preview_columns, preview_of
from eioku.storage.store import UnitOfWork
from eioku.storage.tables import videos

MAX_PAGE = 500

# (timeline_at, video_id, start_ms, artifact_id) of the last item of a page.
GalleryCursor = tuple[datetime, str, int, str]


@dataclass(frozen=True)
class GalleryItem:
    """One match in the library."""

    video_id: str
    filename: str
    recorded_at: datetime | None
    artifact_id: str
    start_ms: int
    end_ms: int
    preview: dict[str, Any]
    cursor: GalleryCursor


@dataclass(frozen=True)
class VideoCount:
    """How many matches one video has."""

    video_id: str
    filename: str
    recorded_at: datetime | None
    count: int


def gallery(
    uow: UnitOfWork,
    kind: Kind | str,
    *,
    filters: Filters = NO_FILTERS,
    filename: str | None = None,
    limit: int = 50,
    after: GalleryCursor | None = None,
) -> list[GalleryItem]:
    """One page of matches along the global timeline, after the ``after`` cursor."""
    spec = spec_for(kind)
    _check_limit(limit)
    lookup = build_lookup(uow.backend, spec, filters, asset_id=None)
    if lookup is None:
        return []
    table = spec.table
    scope = [table.c.selected, *lookup.conditions, *_filename_terms(table, filename)]
    key = tuple_(table.c.timeline_at, table.c.asset_id, table.c.start_ms, table.c.artifact_id)
    if after is not None:
        scope.append(key > tuple_(*after))
    snippet = [] if lookup.snippet is None else [lookup.snippet]
    query = (
        select(
            *key.clauses,
            table.c.end_ms,
            videos.c.filename,
            videos.c.recorded_at,
            *preview_columns(spec),
            *snippet,
        )
        .select_from(lookup.source.join(videos, videos.c.video_id == table.c.asset_id))
        .where(*scope)
        .order_by(*key.clauses)
        .limit(limit)
    )
    items = []
    for row in uow.connection.execute(query):
        raw = row[-1] if lookup.snippet is not None else None
        items.append(
            GalleryItem(
                video_id=row.asset_id,
                filename=row.filename,
                recorded_at=row.recorded_at,
                artifact_id=row.artifact_id,
                start_ms=row.start_ms,
                end_ms=row.end_ms,
                preview=preview_of(
                    row._mapping, spec, None if raw is None else render_snippet(raw)
                ),
                cursor=(row.timeline_at, row.asset_id, row.start_ms, row.artifact_id),
            )
        )
    return items


def counts_by_video(
    uow: UnitOfWork,
    kind: Kind | str,
    *,
    filters: Filters = NO_FILTERS,
    filename: str | None = None,
    limit: int = 50,
    after: tuple[datetime, str] | None = None,
) -> list[VideoCount]:
    """Matches per video, videos along the global timeline, keyset-paginated."""
    spec = spec_for(kind)
    _check_limit(limit)
    lookup = build_lookup(uow.backend, spec, filters, asset_id=None)
    if lookup is None:
        return []
    table = spec.table
    scope = [table.c.selected, *lookup.conditions, *_filename_terms(table, filename)]
    if after is not None:
        scope.append(tuple_(table.c.timeline_at, table.c.asset_id) > tuple_(*after))
    group = [table.c.timeline_at, table.c.asset_id, videos.c.filename, videos.c.recorded_at]
    query = (
        select(*group, func.count().label("matches"))
        .select_from(lookup.source.join(videos, videos.c.video_id == table.c.asset_id))
        .where(*scope)
        .group_by(*group)
        .order_by(table.c.timeline_at, table.c.asset_id)
        .limit(limit)
    )
    return [
        VideoCount(row.asset_id, row.filename, row.recorded_at, row.matches)
        for row in uow.connection.execute(query)
    ]


def _filename_terms(table: Any, filename: str | None) -> list[ColumnElement[bool]]:
    if filename is None or filename == "":
        return []
    escaped = filename.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # Both sides lowered by the database: SQLite's lower() folds ASCII only, so a pattern
    # lowered by Python ("été") could never match the name as typed ("Été").
    pattern = func.lower(f"%{escaped}%")
    return [func.lower(videos.c.filename).like(pattern, escape="\\")]


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidQuery(f"limit must be between 1 and {MAX_PAGE}")
