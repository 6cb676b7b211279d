"""Settings, built once by the entry points from ``EIOKU_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """An SQLite file in the user's data directory: the embedded default."""
    return f"sqlite:///{Path(user_data_dir('eioku', appauthor=False)) / 'eioku.db'}"


def default_model_dir() -> Path:
    """Where users put model files that no package ships (YOLO, Places365, larger Whisper)."""
    return Path(user_data_dir("eioku", appauthor=False)) / "models"


def default_cache_dir() -> Path:
    """The user's cache directory: everything in it can be deleted and is rebuilt on demand."""
    return Path(user_cache_dir("eioku", appauthor=False))


class Settings(BaseSettings):
    """Everything configurable about Eioku."""

    model_config = SettingsConfigDict(env_prefix="EIOKU_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql://...",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Where derived files (video thumbnails) are cached; safe to delete.",
    )
    model_dir: Path = Field(
        default_factory=default_model_dir,
        description="Model files no package ships: YOLO and Places365 ONNX, larger Whisper.",
    )
    library_dirs: list[Path] = Field(
        default_factory=list,
        description="Folders whose videos the API may register (POST /v1/videos); "
        "EIOKU_LIBRARY_DIRS is a JSON list.",
    )
    watch_stable_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Watched library folders: a new or changed file is scanned once its size "
        "and modification time stayed the same this long (so half-copied files wait).",
    )
    executor: Literal["auto", "local", "workers"] = Field(
        default="auto",
        description="Who executes runs: 'workers' (PostgreSQL only: runs are queued for "
        "'eioku worker' processes), 'local' (this process or its local pool), or 'auto' "
        "(workers on PostgreSQL, local on SQLite).",
    )
    default_queue: str = Field(
        default="eioku",
        min_length=1,
        max_length=100,
        description="The worker queue of every stage that stage_queues does not name.",
    )
    stage_queues: dict[str, str] = Field(
        default_factory=dict,
        description='Worker queue per stage, e.g. {"objects": "gpu"}; a run whose '
        "stages map to several queues gets one job per queue (EIOKU_STAGE_QUEUES is JSON).",
    )
    path_map: list[str] = Field(
        default_factory=list,
        description="On workers: 'FROM=TO' path prefixes, so a video registered as "
        "FROM/x.mp4 is read from TO/x.mp4 on this machine (EIOKU_PATH_MAP is a JSON list).",
    )
    worker_heartbeat_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often a worker records that it is alive."
    )
    worker_stall_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="A job whose worker has not recorded a heartbeat for this long is stalled: "
        "its run goes back to the queue (or fails once its retries are used up).",
    )
    worker_check_seconds: float = Field(
        default=15.0, gt=0, le=3600, description="How often each worker looks for stalled jobs."
    )
    job_retries: int = Field(
        default=2,
        ge=0,
        le=100,
        description="How many times a job whose worker crashed or lost the database is "
        "tried again before its run fails.",
    )
    job_retry_backoff_seconds: int = Field(
        default=5,
        ge=1,
        le=3600,
        description="Retry n waits this many seconds to the power n (exponential backoff).",
    )
    worker_shutdown_seconds: float = Field(
        default=10.0,
        ge=0,
        le=86_400,
        description="On stop, a worker lets its runs go on this long, then hands them back "
        "to the queue (their unfinished stages restart elsewhere).",
    )
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Largest HTTP request body the API accepts (artifact uploads), in bytes.",
    )
