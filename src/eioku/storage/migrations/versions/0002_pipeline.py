"""Pipeline bookkeeping: stage input/config hashes and counts, library face identities.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_stages") as batch:
        batch.add_column(sa.Column("input_hash", sa.String(), nullable=True))
        batch.add_column(sa.Column("config_hash", sa.String(), nullable=True))
        batch.add_column(sa.Column("artifact_count", sa.Integer(), nullable=True))
    op.create_table(
        "face_identities",
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster_id", name=op.f("pk_face_identities")),
    )


def downgrade() -> None:
    op.drop_table("face_identities")
    with op.batch_alter_table("run_stages") as batch:
        batch.drop_column("artifact_count")
        batch.drop_column("config_hash")
        batch.drop_column("input_hash")
