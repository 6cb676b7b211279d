"""Worker queue: Procrastinate's schema (PostgreSQL only) and stage claims.

Procrastinate (the PostgreSQL task queue ``eioku worker`` uses) owns its tables, types and
functions; this revision installs the schema of the Procrastinate version Eioku is locked
to. A later Procrastinate with schema changes gets its own revision applying its migration
files. SQLite has no worker queue (runs execute locally), so nothing is created there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Drops everything named procrastinate_* in the current schema: tables (with their
# triggers and indexes), then functions, then the types left over.
_DROP_PROCRASTINATE = """
DO $$
DECLARE
    item record;
BEGIN
    DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
        procrastinate_jobs, procrastinate_workers CASCADE;
    FOR item IN
        SELECT p.oid::regprocedure AS signature
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || item.signature || ' CASCADE';
    END LOOP;
    FOR item IN
        SELECT t.typname
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
            AND t.typtype IN ('e', 'c')
    LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END;
$$;
"""


def _driver_execute(sql: str) -> None:
    """Run SQL text as is (no parameter parsing) inside the migration's transaction."""
    driver = op.get_bind().connection.driver_connection
    assert driver is not None  # a live connection: Alembic is running on it
    driver.execute(sql)


def upgrade() -> None:
    with op.batch_alter_table("run_stages") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _driver_execute(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _driver_execute(_DROP_PROCRASTINATE)
    with op.batch_alter_table("run_stages") as batch:
        batch.drop_column("claimed_by")
