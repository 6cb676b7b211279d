"""``GET /health``: the engine and schema revision, or 503 when the database is gone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from eioku.api.app import create_app
from eioku.config import Settings
from eioku.storage import migrations
from eioku.storage.store import Store
from tests.api.conftest import assert_error


def test_health_reports_engine_and_schema_revision(client: TestClient, store: Store) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": store.dialect,
        "schema_revision": migrations.head_revision(store.engine),
    }


def test_health_is_503_with_the_error_body_when_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url="postgresql://eioku@127.0.0.1:1/nowhere", cache_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        body = assert_error(client.get("/health"), 503, "storage_error")
    assert "reach the database" in body["message"]
