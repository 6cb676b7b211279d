"""Settings, built once by the entry points from ``EIOKU_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

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
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Largest HTTP request body the API accepts (artifact uploads), in bytes.",
    )
