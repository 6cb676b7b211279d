"""Initial schema: videos, runs, artifacts, selection policies, run outputs, projections.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from eioku.storage.postgres import ddl as postgres_ddl
from eioku.storage.sqlite import ddl as sqlite_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "scene_ranges",
    "place_labels",
    "face_clusters",
    "object_labels",
    "ocr_fts",
    "transcript_fts",
    "run_outputs",
    "artifact_selections",
    "artifacts",
    "run_stages",
    "runs",
    "videos",
)


def upgrade() -> None:
    op.create_table(
        "videos",
        sa.Column("video_id", sa.String(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("file_mtime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_hash", sa.String(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timeline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_videos")),
        sa.UniqueConstraint("path", name=op.f("uq_videos_path")),
    )
    op.create_index(op.f("ix_videos_file_hash"), "videos", ["file_hash"], unique=False)
    op.create_index("ix_videos_timeline", "videos", ["timeline_at", "video_id"], unique=False)
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("pipeline_profile", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["videos.video_id"],
            name=op.f("fk_runs_asset_id_videos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_runs")),
        sa.UniqueConstraint("run_id", "asset_id", name=op.f("uq_runs_run_id_asset_id")),
    )
    op.create_index("ix_runs_asset_status", "runs", ["asset_id", "status"], unique=False)
    op.create_table(
        "artifacts",
        sa.Column("artifact_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("artifact_type", sa.String(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("span_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("span_end_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("producer", sa.String(), nullable=False),
        sa.Column("producer_version", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("config_hash", sa.String(), nullable=False),
        sa.Column("input_hash", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id", "asset_id"],
            ["runs.run_id", "runs.asset_id"],
            name=op.f("fk_artifacts_run_id_asset_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_id", name=op.f("pk_artifacts")),
    )
    op.create_index(
        "ix_artifacts_asset_type_profile_start",
        "artifacts",
        ["asset_id", "artifact_type", "model_profile", "span_start_ms"],
        unique=False,
    )
    op.create_index(
        "ix_artifacts_asset_type_start",
        "artifacts",
        ["asset_id", "artifact_type", "span_start_ms"],
        unique=False,
    )
    op.create_index("ix_artifacts_config_hash", "artifacts", ["config_hash"], unique=False)
    op.create_index(
        "ix_artifacts_producer", "artifacts", ["producer", "producer_version"], unique=False
    )
    op.create_index("ix_artifacts_run", "artifacts", ["run_id"], unique=False)
    op.create_index(
        "ix_artifacts_type_created", "artifacts", ["artifact_type", "created_at"], unique=False
    )
    op.create_table(
        "run_outputs",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("artifact_type", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("artifact_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id", "asset_id"],
            ["runs.run_id", "runs.asset_id"],
            name=op.f("fk_run_outputs_run_id_asset_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "artifact_type", "model_profile", name=op.f("pk_run_outputs")
        ),
    )
    op.create_index(
        "ix_run_outputs_asset_type", "run_outputs", ["asset_id", "artifact_type"], unique=False
    )
    op.create_table(
        "run_stages",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_run_stages_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "stage", name=op.f("pk_run_stages")),
    )
    op.create_table(
        "artifact_selections",
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("artifact_type", sa.String(), nullable=False),
        sa.Column("selection_mode", sa.String(), nullable=False),
        sa.Column("preferred_profile", sa.String(), nullable=True),
        sa.Column("pinned_run_id", sa.String(), nullable=True),
        sa.Column("pinned_artifact_id", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["videos.video_id"],
            name=op.f("fk_artifact_selections_asset_id_videos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pinned_artifact_id"],
            ["artifacts.artifact_id"],
            name=op.f("fk_artifact_selections_pinned_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pinned_run_id"],
            ["runs.run_id"],
            name=op.f("fk_artifact_selections_pinned_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "artifact_type", name=op.f("pk_artifact_selections")),
    )
    op.create_index(
        "ix_artifact_selections_pinned_artifact",
        "artifact_selections",
        ["pinned_artifact_id"],
        unique=False,
    )
    op.create_index(
        "ix_artifact_selections_pinned_run", "artifact_selections", ["pinned_run_id"], unique=False
    )
    op.create_table(
        "face_clusters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("artifact_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("timeline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("cluster_id", sa.String(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.artifact_id"],
            name=op.f("fk_face_clusters_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_clusters")),
        sa.UniqueConstraint("artifact_id", name=op.f("uq_face_clusters_artifact_id")),
    )
    op.create_index(
        "ix_face_clusters_library_cluster_end",
        "face_clusters",
        ["cluster_id", "timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_face_clusters_library_cluster_start",
        "face_clusters",
        ["cluster_id", "timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_face_clusters_library_end",
        "face_clusters",
        ["timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_face_clusters_library_start",
        "face_clusters",
        ["timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_face_clusters_video_cluster_end",
        "face_clusters",
        ["asset_id", "cluster_id", "end_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_face_clusters_video_cluster_start",
        "face_clusters",
        ["asset_id", "cluster_id", "start_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_face_clusters_video_end",
        "face_clusters",
        ["asset_id", "end_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_face_clusters_video_start",
        "face_clusters",
        ["asset_id", "start_ms", "run_id"],
        unique=False,
    )
    op.create_table(
        "object_labels",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("artifact_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("timeline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.artifact_id"],
            name=op.f("fk_object_labels_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_object_labels")),
        sa.UniqueConstraint("artifact_id", name=op.f("uq_object_labels_artifact_id")),
    )
    op.create_index(
        "ix_object_labels_library_end",
        "object_labels",
        ["timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_object_labels_library_label_end",
        "object_labels",
        ["label", "timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_object_labels_library_label_start",
        "object_labels",
        ["label", "timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_object_labels_library_start",
        "object_labels",
        ["timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_object_labels_video_end",
        "object_labels",
        ["asset_id", "end_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_object_labels_video_label_end",
        "object_labels",
        ["asset_id", "label", "end_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_object_labels_video_label_start",
        "object_labels",
        ["asset_id", "label", "start_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_object_labels_video_start",
        "object_labels",
        ["asset_id", "start_ms", "run_id"],
        unique=False,
    )
    op.create_table(
        "ocr_fts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("artifact_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("timeline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.artifact_id"],
            name=op.f("fk_ocr_fts_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocr_fts")),
        sa.UniqueConstraint("artifact_id", name=op.f("uq_ocr_fts_artifact_id")),
    )
    op.create_index(
        "ix_ocr_fts_library_end",
        "ocr_fts",
        ["timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_ocr_fts_library_start",
        "ocr_fts",
        ["timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_ocr_fts_video_end", "ocr_fts", ["asset_id", "end_ms", "run_id"], unique=False
    )
    op.create_index(
        "ix_ocr_fts_video_start", "ocr_fts", ["asset_id", "start_ms", "run_id"], unique=False
    )
    op.create_table(
        "place_labels",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("artifact_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("timeline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.artifact_id"],
            name=op.f("fk_place_labels_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_labels")),
        sa.UniqueConstraint("artifact_id", name=op.f("uq_place_labels_artifact_id")),
    )
    op.create_index(
        "ix_place_labels_library_end",
        "place_labels",
        ["timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_place_labels_library_label_end",
        "place_labels",
        ["label", "timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_place_labels_library_label_start",
        "place_labels",
        ["label", "timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_place_labels_library_start",
        "place_labels",
        ["timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_place_labels_video_end", "place_labels", ["asset_id", "end_ms", "run_id"], unique=False
    )
    op.create_index(
        "ix_place_labels_video_label_end",
        "place_labels",
        ["asset_id", "label", "end_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_place_labels_video_label_start",
        "place_labels",
        ["asset_id", "label", "start_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_place_labels_video_start",
        "place_labels",
        ["asset_id", "start_ms", "run_id"],
        unique=False,
    )
    op.create_table(
        "scene_ranges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("artifact_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("timeline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("scene_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.artifact_id"],
            name=op.f("fk_scene_ranges_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scene_ranges")),
        sa.UniqueConstraint("artifact_id", name=op.f("uq_scene_ranges_artifact_id")),
    )
    op.create_index(
        "ix_scene_ranges_library_end",
        "scene_ranges",
        ["timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_scene_ranges_library_start",
        "scene_ranges",
        ["timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_scene_ranges_video_end", "scene_ranges", ["asset_id", "end_ms", "run_id"], unique=False
    )
    op.create_index(
        "ix_scene_ranges_video_start",
        "scene_ranges",
        ["asset_id", "start_ms", "run_id"],
        unique=False,
    )
    op.create_table(
        "transcript_fts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("artifact_id", sa.String(), nullable=False),
        sa.Column("asset_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("model_profile", sa.String(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("timeline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.artifact_id"],
            name=op.f("fk_transcript_fts_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_fts")),
        sa.UniqueConstraint("artifact_id", name=op.f("uq_transcript_fts_artifact_id")),
    )
    op.create_index(
        "ix_transcript_fts_library_end",
        "transcript_fts",
        ["timeline_at", "asset_id", "end_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_transcript_fts_library_start",
        "transcript_fts",
        ["timeline_at", "asset_id", "start_ms"],
        unique=False,
        sqlite_where=sa.text("selected = 1"),
        postgresql_where=sa.text("selected"),
    )
    op.create_index(
        "ix_transcript_fts_video_end",
        "transcript_fts",
        ["asset_id", "end_ms", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_transcript_fts_video_start",
        "transcript_fts",
        ["asset_id", "start_ms", "run_id"],
        unique=False,
    )
    _engine_objects_up()


def _engine_objects_up() -> None:
    if op.get_context().dialect.name == "sqlite":
        for table in sqlite_ddl.FTS_TABLES:
            for statement in sqlite_ddl.create_fts_statements(table):
                op.execute(statement)
    else:
        for statement in postgres_ddl.create_statements():
            op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for table in sqlite_ddl.FTS_TABLES:
            for statement in sqlite_ddl.drop_fts_statements(table):
                op.execute(statement)
    else:
        for statement in postgres_ddl.drop_statements():
            op.execute(statement)
    for table in TABLES:
        op.drop_table(table)
