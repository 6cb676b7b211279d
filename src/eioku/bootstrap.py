"""The one place that wires concrete classes together for the entry points."""

from __future__ import annotations

from eioku.config import Settings
from eioku.domain.schemas.registry import load_registry
from eioku.pipeline.models import ModelLibrary
from eioku.storage.store import Store


def build_store(settings: Settings) -> Store:
    """A store on the configured database with every registered payload schema."""
    return Store(settings.database_url, load_registry())


def build_models(settings: Settings) -> ModelLibrary:
    """Model lookup in the configured model directory."""
    return ModelLibrary(settings.model_dir)
