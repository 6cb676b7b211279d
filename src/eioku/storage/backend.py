"""The port every storage engine implements.

Code outside ``storage/sqlite`` and ``storage/postgres`` uses only this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Engine, FromClause, Table, select
from sqlalchemy.sql import Executable

from eioku.domain.text_query import TextQuery, render_snippet

Row = tuple[Any, ...]

# Execution option marking a connection whose transactions will write.
WRITE_OPTION = "eioku_write"
# Execution option of the lookup engine's connections: each statement commits on its own.
LOOKUP_OPTION = "eioku_lookup"


@dataclass(frozen=True, slots=True)
class TextHit:
    """One full-text match in a projection table."""

    artifact_id: str
    asset_id: str
    run_id: str
    start_ms: int
    end_ms: int
    snippet: str


@dataclass(frozen=True)
class TextMatch:
    """How one engine matches a parsed query against a text projection table.

    Attributes:
        source: the table, joined to whatever index the engine searches.
        condition: true for the rows that contain every phrase.
        snippet: the engine's excerpt with :data:`~eioku.domain.text_query.ENGINE_MARKS`
            around matches; pass it through :func:`render_snippet` before showing it.
    """

    source: FromClause
    condition: ColumnElement[bool]
    snippet: ColumnElement[str]


def text_hit(row: Sequence[Any]) -> TextHit:
    """A hit from a result row (ids, span, engine snippet), with its snippet made safe."""
    artifact_id, asset_id, run_id, start_ms, end_ms, raw_snippet = row
    return TextHit(artifact_id, asset_id, run_id, start_ms, end_ms, render_snippet(raw_snippet))


class Backend(Protocol):
    """What differs between SQLite and PostgreSQL, and nothing else."""

    name: str

    def configure_engine(self, engine: Engine) -> None:
        """Install per-connection settings (pragmas, transaction handling)."""

    def bulk_insert(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        """Insert pre-serialised rows inside the current transaction by the fastest path.

        JSON columns arrive as JSON text and timestamps as aware datetimes.
        """

    def upsert(self, table: Table, keys: Sequence[str], *, add: Sequence[str] = ()) -> Executable:
        """INSERT ... ON CONFLICT (keys) DO UPDATE; see :func:`build_upsert`."""

    def text_match(self, table: Table, query: TextQuery, *, asset_id: str | None) -> TextMatch:
        """Match a non-empty query against a text projection, within one video if given."""

    def text_filter(
        self, table: Table, query: TextQuery, *, asset_id: str | None
    ) -> ColumnElement[bool]:
        """Rows of ``table`` matching a non-empty query, for reads that need no snippet.

        A condition on ``table`` alone (no join), within one video if given.
        """

    def text_values(
        self, table: Table, query: TextQuery, *, asset_id: str | None
    ) -> dict[str, Any]:
        """The bind parameters, by name, of :meth:`text_match` and :meth:`text_filter`.

        Their conditions carry these values already; a statement compiled once per
        shape (:mod:`eioku.storage.prepared`) is run again with these for another query
        of as many phrases.
        """

    def text_search(
        self,
        conn: Connection,
        table: Table,
        query: TextQuery,
        *,
        asset_id: str | None,
        run_ids: Sequence[str] | None,
        limit: int,
    ) -> list[TextHit]:
        """Rows of an FTS projection matching ``query``; see :func:`search_text`."""

    def engine_only_objects(self) -> frozenset[str]:
        """Names of tables, columns and indexes that exist only on this engine."""


def build_upsert(
    insert: Callable[[Table], Any], table: Table, keys: Sequence[str], add: Sequence[str]
) -> Executable:
    """An upsert from a dialect's ``insert`` (both dialects share this API).

    On conflict every non-key column takes the new value, except the ``add`` columns,
    which add the new value to the stored one (counters).
    """
    statement = insert(table)
    excluded = statement.excluded
    changes = {
        column.name: (column + excluded[column.name])
        if column.name in add
        else excluded[column.name]
        for column in table.columns
        if column.name not in keys
    }
    upsert: Executable = statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
    return upsert


def search_text(
    conn: Connection,
    backend: Backend,
    table: Table,
    query: TextQuery,
    *,
    asset_id: str | None,
    run_ids: Sequence[str] | None,
    limit: int,
) -> list[TextHit]:
    """Rows of a text projection matching ``query``, ordered by (asset_id, start_ms, id).

    ``run_ids`` None means every run; an empty query matches nothing.
    """
    if query.is_empty or (run_ids is not None and not run_ids):
        return []
    match = backend.text_match(table, query, asset_id=asset_id)
    c = table.c
    statement = (
        select(c.artifact_id, c.asset_id, c.run_id, c.start_ms, c.end_ms, match.snippet)
        .select_from(match.source)
        .where(match.condition)
        .order_by(c.asset_id, c.start_ms, c.id)
        .limit(limit)
    )
    if asset_id is not None:
        statement = statement.where(c.asset_id == asset_id)
    if run_ids is not None:
        statement = statement.where(c.run_id.in_(list(run_ids)))
    return [text_hit(row) for row in conn.execute(statement)]
