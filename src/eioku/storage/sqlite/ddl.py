"""SQLite-only schema objects: FTS5 indexes over the text projections, kept in sync by triggers.

Each text projection table gets a generated ``asset_key`` column (one safe token per video)
and an external-content FTS5 table indexing ``text`` and ``asset_key``, so a search can be
restricted to one video inside the FTS query itself (SPEC §6).
"""

from __future__ import annotations

FTS_TABLES = ("transcript_fts", "ocr_fts")
TOKENIZER = "porter unicode61 remove_diacritics 2"
ASSET_KEY_SQL = "'v' || lower(hex({col}))"


def fts_index_name(table: str) -> str:
    """Name of the FTS5 table that indexes projection ``table``."""
    return f"{table}_idx"


def create_fts_statements(table: str) -> list[str]:
    """DDL that adds FTS5 search to one text projection table (revision 0001)."""
    idx = fts_index_name(table)
    new_key = ASSET_KEY_SQL.format(col="new.asset_id")
    old_key = ASSET_KEY_SQL.format(col="old.asset_id")
    delete_old = (
        f"INSERT INTO {idx}({idx}, rowid, text, asset_key) "
        f"VALUES ('delete', old.id, old.text, {old_key});"
    )
    insert_new = f"INSERT INTO {idx}(rowid, text, asset_key) VALUES (new.id, new.text, {new_key});"
    return [
        f"ALTER TABLE {table} ADD COLUMN asset_key TEXT "
        f"GENERATED ALWAYS AS ({ASSET_KEY_SQL.format(col='asset_id')}) VIRTUAL",
        f"CREATE VIRTUAL TABLE {idx} USING fts5(text, asset_key, content='{table}', "
        f"content_rowid='id', tokenize='{TOKENIZER}')",
        f"CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN {delete_old} END",
        f"CREATE TRIGGER {table}_au AFTER UPDATE ON {table} BEGIN {delete_old} {insert_new} END",
    ]


def drop_fts_statements(table: str) -> list[str]:
    """Undo :func:`create_fts_statements`."""
    idx = fts_index_name(table)
    return [
        f"DROP TRIGGER IF EXISTS {table}_au",
        f"DROP TRIGGER IF EXISTS {table}_ad",
        f"DROP TRIGGER IF EXISTS {table}_ai",
        f"DROP TABLE IF EXISTS {idx}",
        f"ALTER TABLE {table} DROP COLUMN asset_key",
    ]


def engine_only_objects() -> frozenset[str]:
    """Tables and columns created here that the shared metadata does not declare."""
    names = {"asset_key"}
    for table in FTS_TABLES:
        idx = fts_index_name(table)
        names |= {idx, *(f"{idx}_{suffix}" for suffix in ("data", "idx", "docsize", "config"))}
    return frozenset(names)
