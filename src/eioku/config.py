"""Settings, built once by the entry points from ``EIOKU_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """An SQLite file in the user's data directory: the embedded default."""
    return f"sqlite:///{Path(user_data_dir('eioku', appauthor=False)) / 'eioku.db'}"


class Settings(BaseSettings):
    """Everything configurable about Eioku."""

    model_config = SettingsConfigDict(env_prefix="EIOKU_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql://...",
    )
