"""``GET /health``: whether the API can reach its database, and at which schema revision."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from eioku.api.deps import StoreDep
from eioku.api.errors import error_responses
from eioku.storage import migrations
from eioku.storage.errors import translated

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The service is up and its database answers."""

    status: Literal["ok"] = Field(description="Always `ok` (errors answer 503).")
    database: str = Field(description="Database engine: `sqlite` or `postgresql`.")
    schema_revision: str | None = Field(description="Migration revision of the database.")


@router.get("/health", response_model=Health, responses=error_responses(503))
def health(store: StoreDep) -> Health:
    """Ping the database; 503 with the standard error body when it cannot be reached."""
    store.ping()
    with translated("read the schema revision"):
        revision = migrations.current_revision(store.engine)
    return Health(status="ok", database=store.dialect, schema_revision=revision)
