"""PostgreSQL-only schema objects: generated tsvector columns with GIN, and a GIN on payloads."""

from __future__ import annotations

from eioku.storage.postgres.fts import CREATE_TS_CONFIG_SQL, DROP_TS_CONFIG_SQL, tsvector_sql

FTS_TABLES = ("transcript_fts", "ocr_fts")
GIN_PENDING_LIST_KB = 256


def create_statements() -> list[str]:
    """DDL for revision 0001 on PostgreSQL."""
    statements = list(CREATE_TS_CONFIG_SQL)
    for table in FTS_TABLES:
        statements += [
            f"ALTER TABLE {table} ADD COLUMN text_tsv tsvector "
            f"GENERATED ALWAYS AS ({tsvector_sql('text')}) STORED",
            # A small pending list: with GIN's default (4 MB) a bulk ingest leaves ~20k
            # entries that every search scans linearly until VACUUM, and PostgreSQL then
            # prices the index so high that it scans the table (tests/contract/test_query_plans).
            f"CREATE INDEX ix_{table}_text_tsv ON {table} USING gin (text_tsv) "
            f"WITH (gin_pending_list_limit = {GIN_PENDING_LIST_KB})",
        ]
    # jsonb_path_ops: measured faster to build and to query for containment (SPEC §2).
    statements.append(
        "CREATE INDEX ix_artifacts_payload ON artifacts USING gin (payload jsonb_path_ops)"
    )
    return statements


def drop_statements() -> list[str]:
    """Undo :func:`create_statements`."""
    statements = ["DROP INDEX IF EXISTS ix_artifacts_payload"]
    for table in FTS_TABLES:
        statements += [
            f"DROP INDEX IF EXISTS ix_{table}_text_tsv",
            f"ALTER TABLE {table} DROP COLUMN IF EXISTS text_tsv",
        ]
    return statements + list(DROP_TS_CONFIG_SQL)


# The worker queue's tables (migration 0004 installs Procrastinate's schema).
PROCRASTINATE_TABLES = (
    "procrastinate_jobs",
    "procrastinate_workers",
    "procrastinate_events",
    "procrastinate_periodic_defers",
)


def engine_only_objects() -> frozenset[str]:
    """Columns and indexes created here that the shared metadata does not declare."""
    names = {"text_tsv", "ix_artifacts_payload", *PROCRASTINATE_TABLES}
    names |= {f"ix_{table}_text_tsv" for table in FTS_TABLES}
    return frozenset(names)
