"""The PostgreSQL backend: COPY for bulk writes, tsvector search with ts_headline snippets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Executable

from eioku.domain.text_query import ENGINE_MARKS, TextQuery
from eioku.storage.backend import Row, TextHit, build_upsert, text_hit
from eioku.storage.errors import conflict_or_storage_error
from eioku.storage.postgres import ddl
from eioku.storage.postgres.fts import headline_sql, tsquery_sql


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
        """``text_tsv @@ tsquery`` through the GIN index; snippets from ts_headline."""
        if query.is_empty or (run_ids is not None and not run_ids):
            return []
        tsquery, params = tsquery_sql(query)
        params_all: dict[str, Any] = {**params, "limit": limit}
        where = [f"t.text_tsv @@ {tsquery}"]
        if asset_id is not None:
            where.append("t.asset_id = :asset_id")
            params_all["asset_id"] = asset_id
        if run_ids is not None:
            where.append("t.run_id = ANY(:run_ids)")
            params_all["run_ids"] = list(run_ids)
        sql = (
            f"SELECT t.artifact_id, t.asset_id, t.run_id, t.start_ms, t.end_ms, "
            f"{headline_sql('t.text', tsquery, marks=ENGINE_MARKS)} FROM {table.name} AS t "
            f"WHERE {' AND '.join(where)} ORDER BY t.asset_id, t.start_ms, t.id LIMIT :limit"
        )
        rows = conn.execute(text(sql), params_all)
        return [text_hit(row) for row in rows]

    def engine_only_objects(self) -> frozenset[str]:
        """See :func:`eioku.storage.postgres.ddl.engine_only_objects`."""
        return ddl.engine_only_objects()
