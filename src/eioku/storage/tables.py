"""The logical schema, identical on both engines (SPEC §4, §6).

Engine-only physical pieces (FTS5 tables and triggers, tsvector columns, GIN indexes) are
created by the migrations from ``storage/sqlite`` and ``storage/postgres``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from eioku.storage.types import UTCDateTime, json_object_type

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

RowId = BigInteger().with_variant(Integer(), "sqlite")

videos = Table(
    "videos",
    metadata,
    Column("video_id", String, primary_key=True),
    Column("path", Text, nullable=False, unique=True),
    Column("filename", Text, nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("file_mtime", UTCDateTime, nullable=False),
    Column("file_hash", String, nullable=False, index=True),
    Column("duration_ms", BigInteger),
    Column("recorded_at", UTCDateTime),
    Column("timeline_at", UTCDateTime, nullable=False),
    Column("status", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_videos_timeline", "timeline_at", "video_id"),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String, primary_key=True),
    Column(
        "asset_id",
        String,
        ForeignKey("videos.video_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("pipeline_profile", String, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String, nullable=False),
    Column("error", Text),
    UniqueConstraint("run_id", "asset_id"),
    Index("ix_runs_asset_status", "asset_id", "status"),
)

run_stages = Table(
    "run_stages",
    metadata,
    Column("run_id", String, ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("stage", String, nullable=False),
    Column("position", Integer, nullable=False),
    Column("status", String, nullable=False),
    Column("progress", Float, nullable=False),
    Column("error", Text),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("input_hash", String),
    Column("config_hash", String),
    Column("artifact_count", Integer),
    # Token of the executor that set the stage running; a stage's batch is written only by
    # its holder, so a run taken over after a worker died is never written twice.
    Column("claimed_by", String),
    PrimaryKeyConstraint("run_id", "stage"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("artifact_id", String, primary_key=True),
    Column("asset_id", String, nullable=False),
    Column("artifact_type", String, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("span_start_ms", BigInteger, nullable=False),
    Column("span_end_ms", BigInteger, nullable=False),
    Column("payload", json_object_type(), nullable=False),
    Column("producer", String, nullable=False),
    Column("producer_version", String, nullable=False),
    Column("model_profile", String, nullable=False),
    Column("config_hash", String, nullable=False),
    Column("input_hash", String, nullable=False),
    Column("run_id", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(
        ["run_id", "asset_id"], ["runs.run_id", "runs.asset_id"], ondelete="CASCADE"
    ),
    Index("ix_artifacts_asset_type_start", "asset_id", "artifact_type", "span_start_ms"),
    Index(
        "ix_artifacts_asset_type_profile_start",
        "asset_id",
        "artifact_type",
        "model_profile",
        "span_start_ms",
    ),
    Index("ix_artifacts_run", "run_id"),
    Index("ix_artifacts_type_created", "artifact_type", "created_at"),
    Index("ix_artifacts_producer", "producer", "producer_version"),
    Index("ix_artifacts_config_hash", "config_hash"),
)

artifact_selections = Table(
    "artifact_selections",
    metadata,
    Column(
        "asset_id",
        String,
        ForeignKey("videos.video_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("artifact_type", String, nullable=False),
    Column("selection_mode", String, nullable=False),
    Column("preferred_profile", String),
    Column("pinned_run_id", String, ForeignKey("runs.run_id", ondelete="CASCADE")),
    Column("pinned_artifact_id", String, ForeignKey("artifacts.artifact_id", ondelete="CASCADE")),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("asset_id", "artifact_type"),
    # Cascading deletes of runs and artifacts look policies up by these.
    Index("ix_artifact_selections_pinned_run", "pinned_run_id"),
    Index("ix_artifact_selections_pinned_artifact", "pinned_artifact_id"),
)

# Derived: how many artifacts of each type and profile each run produced. Selection
# resolution reads this handful of rows instead of scanning a video's artifacts.
run_outputs = Table(
    "run_outputs",
    metadata,
    Column("run_id", String, nullable=False),
    Column("asset_id", String, nullable=False),
    Column("artifact_type", String, nullable=False),
    Column("model_profile", String, nullable=False),
    Column("artifact_count", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "artifact_type", "model_profile"),
    ForeignKeyConstraint(
        ["run_id", "asset_id"], ["runs.run_id", "runs.asset_id"], ondelete="CASCADE"
    ),
    Index("ix_run_outputs_asset_type", "asset_id", "artifact_type"),
)


# SQLAlchemy renders a boolean filter on SQLite as "selected = 1"; a partial index is only
# used when the query's WHERE contains its predicate verbatim, so spell it the same way.
SELECTED_SQLITE = text("selected = 1")


def _projection(name: str, key: str | None, *extra: Column[Any]) -> Table:
    """A projection table: the columns every projection carries, its own, and its indexes.

    Per-video lookups ("next after t in this video") seek ``(asset_id, [key,] start_ms)``
    or ``end_ms`` with ``run_id`` last, so the selection filter is checked inside the
    index. Library-wide lookups walk the global timeline ``([key,] timeline_at, asset_id,
    start_ms | end_ms)`` through partial indexes holding only default-selected rows.
    """
    table = Table(
        name,
        metadata,
        Column("id", RowId, primary_key=True, autoincrement=True),
        Column(
            "artifact_id",
            String,
            ForeignKey("artifacts.artifact_id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        Column("asset_id", String, nullable=False),
        Column("run_id", String, nullable=False),
        Column("model_profile", String, nullable=False),
        Column("start_ms", BigInteger, nullable=False),
        Column("end_ms", BigInteger, nullable=False),
        Column("timeline_at", UTCDateTime, nullable=False),
        Column("selected", Boolean, nullable=False),
        *extra,
    )
    c = table.c
    keyed = [c[key]] if key else []
    tag = f"_{key.split('_')[0]}" if key else ""
    for edge in ("start", "end"):
        position = c[f"{edge}_ms"]
        Index(f"ix_{name}_video_{edge}", c.asset_id, position, c.run_id)
        Index(
            f"ix_{name}_library_{edge}",
            c.timeline_at,
            c.asset_id,
            position,
            sqlite_where=SELECTED_SQLITE,
            postgresql_where=c.selected,
        )
        if keyed:
            Index(f"ix_{name}_video{tag}_{edge}", c.asset_id, *keyed, position, c.run_id)
            Index(
                f"ix_{name}_library{tag}_{edge}",
                *keyed,
                c.timeline_at,
                c.asset_id,
                position,
                sqlite_where=SELECTED_SQLITE,
                postgresql_where=c.selected,
            )
    return table


transcript_fts = _projection("transcript_fts", None, Column("text", Text, nullable=False))
ocr_fts = _projection(
    "ocr_fts",
    None,
    Column("text", Text, nullable=False),
    Column("confidence", Float, nullable=False),
)
object_labels = _projection(
    "object_labels",
    "label",
    Column("label", String, nullable=False),
    Column("confidence", Float, nullable=False),
)
face_clusters = _projection(
    "face_clusters",
    "cluster_id",
    Column("cluster_id", String),
    Column("confidence", Float, nullable=False),
)
place_labels = _projection(
    "place_labels",
    "label",
    Column("label", String, nullable=False),
    Column("confidence", Float, nullable=False),
)
scene_ranges = _projection("scene_ranges", None, Column("scene_index", Integer, nullable=False))

# Library-wide face identities: each cluster's running mean embedding. Cluster ids, once
# given to a face, never change; new faces join the nearest identity or start a new one.
face_identities = Table(
    "face_identities",
    metadata,
    Column("cluster_id", String, primary_key=True),
    Column("centroid", LargeBinary, nullable=False),
    Column("member_count", Integer, nullable=False),
    Column("model", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Folders the library is made of: scans register and queue their videos; watched ones are
# followed while a server or worker runs.
library_sources = Table(
    "library_sources",
    metadata,
    Column("source_id", String, primary_key=True),
    Column("path", Text, nullable=False, unique=True),
    Column("watch", Boolean, nullable=False),
    Column("profile", String, nullable=False),
    Column("stages", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_scan_at", UTCDateTime),
)

PROJECTION_TABLES = (
    transcript_fts,
    ocr_fts,
    object_labels,
    face_clusters,
    place_labels,
    scene_ranges,
)
