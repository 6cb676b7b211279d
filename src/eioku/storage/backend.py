"""The port every storage engine implements.

Code outside ``storage/sqlite`` and ``storage/postgres`` uses only this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.sql import Executable

from eioku.domain.text_query import TextQuery, render_snippet

Row = tuple[Any, ...]

# Execution option marking a connection whose transactions will write.
WRITE_OPTION = "eioku_write"


@dataclass(frozen=True, slots=True)
class TextHit:
    """One full-text match in a projection table."""

    artifact_id: str
    asset_id: str
    run_id: str
    start_ms: int
    end_ms: int
    snippet: str


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
        """Rows of an FTS projection matching ``query``, ordered by (asset_id, start_ms, id).

        ``run_ids`` None means every run; an empty query matches nothing.
        """

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
