"""Library sources: folders that scans register videos from, optionally watched.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_sources",
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("watch", sa.Boolean(), nullable=False),
        sa.Column("profile", sa.String(), nullable=False),
        sa.Column("stages", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_scan_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_library_sources")),
        sa.UniqueConstraint("path", name=op.f("uq_library_sources_path")),
    )


def downgrade() -> None:
    op.drop_table("library_sources")
