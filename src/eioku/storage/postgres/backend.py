"""The PostgreSQL backend: COPY for bulk writes, tsvector search with ts_headline snippets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import ColumnElement, Connection, Engine, Table, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Executable

from eioku.domain.text_query import ENGINE_MARKS, TextQuery
from eioku.storage.backend import Row, TextHit, TextMatch, build_upsert, search_text
from eioku.storage.errors import conflict_or_storage_error
from eioku.storage.postgres import ddl
from eioku.storage.postgres.fts import headline_expression, tsquery_expression, tsquery_values


class PostgresBackend:
    """PostgreSQL specifics behind the :class:`~eioku.storage.backend.Backend` port."""

    name = "postgresql"

    def configure_engine(self, engine: Engine) -> None:
        """Nothing per connection: psycopg's defaults suit us."""

    def bulk_insert(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
    ) -> None:
        """COPY FROM STDIN on the driver connection, inside the current transaction."""
        if not rows:
            return
        driver = conn.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        try:
            with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            integrity = isinstance(exc, psycopg.errors.IntegrityError)
            raise conflict_or_storage_error(
                f"copy into {table.name}", exc, integrity=integrity
            ) from exc

    def upsert(self, table: Table, keys: Sequence[str], *, add: Sequence[str] = ()) -> Executable:
        """INSERT ... ON CONFLICT DO UPDATE, see :func:`~eioku.storage.backend.build_upsert`."""
        return build_upsert(pg_insert, table, keys, add)

    def text_match(self, table: Table, query: TextQuery, *, asset_id: str | None) -> TextMatch:
        """``text_tsv @@ tsquery``; snippets from ts_headline.

        Library-wide the GIN index finds the rows. Within one video (``asset_id`` given;
        callers filter on the column) the video's rows are matched one by one in time
        order through the per-video index, and the lookup stops at its limit: the cost is
        bounded by the video, while a common word's GIN posting list grows with the
        library (a find at 10^7 artifacts spent 5 ms reading 23,000 entries for "close"
        to keep the 42 rows of one video). See :func:`_matches`.
        """
        tsquery = tsquery_expression(query, prefix=_phrases(table))
        return TextMatch(
            source=table,
            condition=_matches(table, tsquery, indexed=asset_id is None),
            snippet=headline_expression(table.c.text, tsquery, marks=ENGINE_MARKS),
        )

    def text_filter(
        self, table: Table, query: TextQuery, *, asset_id: str | None
    ) -> ColumnElement[bool]:
        """The condition of :meth:`text_match`, which needs no join here either."""
        tsquery = tsquery_expression(query, prefix=_phrases(table))
        return _matches(table, tsquery, indexed=asset_id is None)

    def text_values(
        self, table: Table, query: TextQuery, *, asset_id: str | None
    ) -> dict[str, Any]:
        """The parameters of this table's text conditions: one per phrase."""
        return dict(tsquery_values(query, prefix=_phrases(table)))

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
        """See :func:`eioku.storage.postgres.ddl.engine_only_objects`."""
        return ddl.engine_only_objects()


def _matches(table: Table, tsquery: ColumnElement[Any], *, indexed: bool) -> ColumnElement[bool]:
    """``<table>.text_tsv @@ tsquery``, which the GIN index serves when ``indexed``.

    Otherwise the vector is ``coalesce(text_tsv, '')``: the same value (the column is
    never NULL for a row with text), but an expression the GIN index does not cover, so
    the planner cannot choose it.
    """
    column = f"{table.name}.text_tsv"
    vector: ColumnElement[Any] = literal_column(
        column if indexed else f"coalesce({column}, ''::tsvector)"
    )
    return vector.op("@@", is_comparison=True)(tsquery)


def _phrases(table: Table) -> str:
    return f"{table.name}_phrase"
