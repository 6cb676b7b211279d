"""Everything specific to SQLite (JSON1, FTS5, WAL)."""
