"""Read a library's navigation working set into memory before its queries are timed.

Navigation reads the projection tables, their indexes and ``videos``, never the artifacts
table (most of the bytes). A server that has been answering for a while holds that
working set in the OS page cache; a library just generated beside another one of 15 GB
does not, and its first queries then measure the disk. ``--prewarm`` reads the working
set once, untimed: on SQLite every page of those b-trees (FTS5 shadow tables included)
through the ``dbstat`` table, on PostgreSQL every block through ``pg_prewarm(..., 'read')``
(the extension is created in the benchmark database when missing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text

from eioku.storage.store import Store
from eioku.storage.tables import PROJECTION_TABLES, videos

TABLES = [table.name for table in PROJECTION_TABLES] + [videos.name]


@dataclass(frozen=True)
class Prewarmed:
    """How much was read, and how long it took."""

    megabytes: float
    seconds: float


def prewarm(store: Store) -> Prewarmed:
    """Read the working set of ``store``'s library into the page cache."""
    started = time.perf_counter()
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            names = [
                name
                for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master")
                if any(name == t or name.startswith(f"{t}_") for t in TABLES)
                or any(name.startswith(f"ix_{t}_") for t in TABLES)
            ]
            marks = ", ".join("?" for _ in names)
            query = f"SELECT count(*) FROM dbstat WHERE name IN ({marks})"
            pages = conn.exec_driver_sql(query, tuple(names)).scalar_one()
            read = pages * size
        else:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            blocks = conn.execute(
                text(
                    "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
                    "WHERE c.relname = ANY(:tables) OR c.oid IN ("
                    "  SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
                    "  WHERE t.relname = ANY(:tables)"
                    ") OR c.oid IN ("
                    "  SELECT reltoastrelid FROM pg_class WHERE relname = ANY(:tables)"
                    ")"
                ),
                {"tables": TABLES},
            ).scalar_one()
            read = int(blocks) * int(conn.exec_driver_sql("SHOW block_size").scalar_one())
            conn.commit()
    return Prewarmed(read / 1e6, time.perf_counter() - started)
