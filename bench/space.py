"""Database bytes, measured the way each engine accounts for them.

PostgreSQL: ``pg_table_size`` (heap + TOAST) and ``pg_indexes_size`` of every table in the
public schema after ``VACUUM ANALYZE``. SQLite: the file size after a truncating WAL
checkpoint, split per table with the ``dbstat`` virtual table when SQLite was built with it;
FTS5 shadow tables count as index bytes of the projection table they index.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import psycopg

from bench.scratch import libpq, sqlite_path


@dataclass(frozen=True, slots=True)
class TableSpace:
    """Bytes one table takes: its rows, and its indexes (full-text indexes included)."""

    name: str
    data_bytes: int
    index_bytes: int

    @property
    def total(self) -> int:
        """Rows and indexes together."""
        return self.data_bytes + self.index_bytes


@dataclass(frozen=True, slots=True)
class Space:
    """The size of a whole database and, when the engine can tell, its tables."""

    total_bytes: int
    tables: tuple[TableSpace, ...]


def measure(engine: str, url: str) -> Space:
    """Measure the database at ``url`` (nothing may be writing to it)."""
    return _sqlite(url) if engine == "sqlite" else _postgres(url)


def _postgres(url: str) -> Space:
    query = """
        SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid)
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    """
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        rows = conn.execute(query).fetchall()
    tables = tuple(TableSpace(str(name), int(data), int(index)) for name, data, index in rows)
    return Space(sum(t.total for t in tables), _largest_first(tables))


def _sqlite(url: str) -> Space:
    path = sqlite_path(url)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = path.stat().st_size
        tables = _dbstat(conn)
    finally:
        conn.close()
    return Space(total, tables)


def _dbstat(conn: sqlite3.Connection) -> tuple[TableSpace, ...]:
    """Per-table bytes from dbstat, or nothing when this SQLite lacks it."""
    try:
        pages = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    except sqlite3.OperationalError:
        return ()
    schema = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall()
    virtual = {name for kind, name, _, sql in schema if kind == "table" and _virtual(sql)}
    plain = {
        name
        for kind, name, _, _ in schema
        if kind == "table" and name not in virtual and not _shadow(name, virtual)
    }
    data: dict[str, int] = {}
    index: dict[str, int] = {}
    for kind, name, owner_table, _ in schema:
        size = int(pages.get(name, 0))
        if kind == "table" and name in plain:
            data[name] = data.get(name, 0) + size
            continue
        owner = owner_table if kind == "index" else _owner(name, plain)
        index[owner] = index.get(owner, 0) + size
    names = sorted(set(data) | set(index))
    tables = tuple(TableSpace(n, data.get(n, 0), index.get(n, 0)) for n in names)
    return _largest_first(tables)


def _virtual(sql: str | None) -> bool:
    return sql is not None and sql.upper().startswith("CREATE VIRTUAL TABLE")


def _shadow(name: str, virtual: set[str]) -> bool:
    """Whether ``name`` is a table an FTS5 (or other virtual) table keeps its data in."""
    return any(name.startswith(f"{table}_") for table in virtual)


def _owner(name: str, plain: set[str]) -> str:
    """The plain table a virtual or shadow table belongs to: the longest name it starts with."""
    prefixes = [table for table in plain if name != table and name.startswith(f"{table}_")]
    return max(prefixes, key=len) if prefixes else name


def _largest_first(tables: tuple[TableSpace, ...]) -> tuple[TableSpace, ...]:
    return tuple(sorted(tables, key=lambda t: (-t.total, t.name)))
