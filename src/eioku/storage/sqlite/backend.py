"""The SQLite backend: WAL, enforced foreign keys, explicit BEGIN, FTS5 search, executemany."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    String,
    Table,
    TypeDecorator,
    and_,
    column,
    event,
    literal_column,
    select,
)
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Executable, Select
from sqlalchemy.types import TypeEngine

from eioku.domain.text_query import ENGINE_MARKS, TextQuery
from eioku.storage.backend import (
    LOOKUP_OPTION,
    WRITE_OPTION,
    Row,
    TextHit,
    TextMatch,
    build_upsert,
    search_text,
)
from eioku.storage.errors import conflict_or_storage_error
from eioku.storage.sqlite import ddl
from eioku.storage.sqlite.fts import (
    asset_key,
    fts5_match_expression,
    match_condition,
    snippet_sql,
)


def _timestamp_text(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME reads back: naive UTC with microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_value(value: Any) -> Any:
    return _timestamp_text(value) if isinstance(value, datetime) else value


def _is_timestamp(type_: TypeEngine[Any]) -> bool:
    impl = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    return isinstance(impl, DateTime)


def _driver_rows(table: Table, columns: Sequence[str], rows: Sequence[Row]) -> Sequence[Row]:
    """The rows with their declared timestamp columns as text, visiting only those columns."""
    positions = [
        index
        for index, name in enumerate(columns)
        if (column := table.c.get(name)) is not None and _is_timestamp(column.type)
    ]
    if not positions:
        return rows
    # A batch repeats few distinct timestamps (one created_at, one timeline_at per video).
    texts: dict[Any, Any] = {}
    converted: list[Row] = []
    for row in rows:
        values = list(row)
        for index in positions:
            value = values[index]
            if (text_value := texts.get(value)) is None:
                text_value = texts[value] = _sqlite_value(value)
            values[index] = text_value
        converted.append(tuple(values))
    return converted


class SqliteBackend:
    """SQLite specifics behind the :class:`~eioku.storage.backend.Backend` port."""

    name = "sqlite"

    def configure_engine(self, engine: Engine) -> None:
        """Per connection: WAL, foreign keys, busy timeout; transactions begun explicitly.

        pysqlite's own implicit transaction handling is switched off so that BEGIN is
        ours: write units of work take ``BEGIN IMMEDIATE`` and never fail mid-way on a
        lock upgrade; readers take a deferred BEGIN and never block on writers (WAL).
        """

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in (
                "journal_mode=WAL",
                "foreign_keys=ON",
                "synchronous=NORMAL",
                "busy_timeout=30000",
                "temp_store=MEMORY",
            ):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            options = conn.get_execution_options()
            if options.get(LOOKUP_OPTION):
                return  # Store.lookup: every statement is its own snapshot
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION) else "BEGIN")

    def bulk_insert(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        """executemany on the driver cursor, inside the current transaction."""
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, _driver_rows(table, columns, rows))
        except sqlite3.Error as exc:
            integrity = isinstance(exc, sqlite3.IntegrityError)
            raise conflict_or_storage_error(
                f"insert into {table.name}", exc, integrity=integrity
            ) from exc
        finally:
            cursor.close()

    def upsert(self, table: Table, keys: Sequence[str], *, add: Sequence[str] = ()) -> Executable:
        """INSERT ... ON CONFLICT DO UPDATE, see :func:`~eioku.storage.backend.build_upsert`."""
        return build_upsert(sqlite_insert, table, keys, add)

    def text_match(self, table: Table, query: TextQuery, *, asset_id: str | None) -> TextMatch:
        """FTS5 MATCH, restricted to one video inside the FTS query when one is given.

        Within one video the condition also holds :meth:`text_filter`'s list of that
        video's matches: when SQLite drives the join from the per-video index, running
        the MATCH again for every row of the video (which can cost 50-400 ms in a long
        video), the list turns the rows away first and the MATCH runs only for matches.
        """
        idx = ddl.fts_index_name(table.name)
        index = sql_table(idx, column("rowid"))
        condition = _match(table, query, asset_id)
        if asset_id is not None:
            condition = and_(condition, self.text_filter(table, query, asset_id=asset_id))
        return TextMatch(
            source=table.join(index, index.c.rowid == table.c.id),
            condition=condition,
            snippet=literal_column(snippet_sql(idx, marks=ENGINE_MARKS), String),
        )

    def text_filter(
        self, table: Table, query: TextQuery, *, asset_id: str | None
    ) -> ColumnElement[bool]:
        """``id IN (SELECT rowid FROM <fts> WHERE <fts> MATCH ?)``: the MATCH runs once.

        As a join (see :meth:`text_match`), SQLite may drive a seek from the per-video
        index and run the MATCH again for every candidate row; the subquery is evaluated
        once into a list, whichever index the rest of the statement uses.
        """
        matching: Select[Any] = (
            select(column("rowid"))
            .select_from(sql_table(ddl.fts_index_name(table.name)))
            .where(_match(table, query, asset_id))
            .correlate(None)
        )
        return table.c.id.in_(matching)

    def text_values(
        self, table: Table, query: TextQuery, *, asset_id: str | None
    ) -> dict[str, Any]:
        """The parameters of this table's text conditions: one FTS5 expression."""
        return {_match_name(table): _expression(query, asset_id)}

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
        """See :func:`eioku.storage.backend.search_text`."""
        return search_text(
            conn, self, table, query, asset_id=asset_id, run_ids=run_ids, limit=limit
        )

    def engine_only_objects(self) -> frozenset[str]:
        """See :func:`eioku.storage.sqlite.ddl.engine_only_objects`."""
        return ddl.engine_only_objects()


def _match_name(table: Table) -> str:
    return f"{table.name}_match"


def _expression(query: TextQuery, asset_id: str | None) -> str:
    """The FTS5 expression of ``query``, within one video if given."""
    scope = None if asset_id is None else ("asset_key", asset_key(asset_id))
    return fts5_match_expression(query, scope=scope)


def _match(table: Table, query: TextQuery, asset_id: str | None) -> ColumnElement[bool]:
    """``<fts index> MATCH :<table>_match`` (see :meth:`SqliteBackend.text_values`)."""
    expression = _expression(query, asset_id)
    return match_condition(ddl.fts_index_name(table.name), expression, name=_match_name(table))
