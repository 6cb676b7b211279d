"""API fixtures: the app on the ``store`` fixture (every engine), a client, sample data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from eioku.api.app import create_app
from eioku.config import Settings
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus
from eioku.storage.store import Store
from eioku.storage.tables import artifact_selections, artifacts, runs, videos
from tests.factories import later, make_artifact, make_run, make_video
from tests.media import make_video as make_media
from tests.media import video_for


def url_of(store: Store) -> str:
    """The URL a store was opened with."""
    return store.engine.url.render_as_string(hide_password=False)


def make_app(store: Store, cache_dir: Path, **settings: Any) -> FastAPI:
    """The API on ``store`` with its thumbnail cache in ``cache_dir``."""
    config = Settings(database_url=url_of(store), cache_dir=cache_dir, **settings)
    return create_app(config, store=store)


@pytest.fixture
def app(store: Store, tmp_path: Path) -> FastAPI:
    return make_app(store, tmp_path / "cache")


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the standard error body with ``status`` (and ``code``); return the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "message", "details", "timestamp"}, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["details"] is None or isinstance(body["details"], dict)
    assert body["timestamp"].endswith("+00:00")
    if code is not None:
        assert body["error"] == code, body
    return body


def row_counts(store: Store) -> dict[str, int]:
    """Rows in each primary table: a rejected write must leave them unchanged."""
    with store.unit_of_work(write=False) as uow:
        return {
            table.name: uow.connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (videos, runs, artifacts, artifact_selections)
        }


@dataclass(frozen=True)
class Library:
    """Ids of :func:`populate`'s data: video A has two transcript runs, B has none."""

    video_a: str
    video_b: str
    run_fast: str
    run_hq: str
    transcript_fast: tuple[str, ...]
    transcript_hq: tuple[str, ...]
    ocr: tuple[str, ...]


def populate(store: Store) -> Library:
    """Two videos; A has a fast run (3 transcript segments, 2 OCR texts) and a later
    high-quality run (2 transcript segments)."""
    video_a = make_video("vid-a", recorded_at=later(10))
    video_b = make_video("vid-b", recorded_at=later(5))
    fast = make_run("vid-a", profile=ModelProfile.FAST, run_id="run-fast", started_at=later(1))
    hq = make_run(
        "vid-a",
        profile=ModelProfile.HIGH_QUALITY,
        run_id="run-hq",
        started_at=later(2),
        status=RunStatus.RUNNING,
        stages=("transcribe", "ocr"),
    )
    transcript_fast = [
        make_artifact(fast, start=start, artifact_id=f"tf-{start}") for start in (0, 2000, 4000)
    ]
    transcript_hq = [
        make_artifact(hq, start=start, artifact_id=f"th-{start}") for start in (500, 3000)
    ]
    ocr = [
        make_artifact(fast, "ocr.text", start=start, artifact_id=f"ocr-{start}")
        for start in (1000, 6000)
    ]
    with store.unit_of_work() as uow:
        uow.videos.add(video_a)
        uow.videos.add(video_b)
        uow.runs.create(fast)
        uow.runs.create(hq)
        uow.artifacts.batch_create([*transcript_fast, *transcript_hq, *ocr])
    return Library(
        video_a="vid-a",
        video_b="vid-b",
        run_fast="run-fast",
        run_hq="run-hq",
        transcript_fast=tuple(a.artifact_id for a in transcript_fast),
        transcript_hq=tuple(a.artifact_id for a in transcript_hq),
        ocr=tuple(a.artifact_id for a in ocr),
    )


@pytest.fixture
def library(store: Store) -> Library:
    return populate(store)


@pytest.fixture(scope="session")
def media_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-second 64x48 video, one colour a second (see tests/media.py)."""
    return make_media(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=4)


@pytest.fixture
def media_video(store: Store, media_file: Path) -> str:
    """The id of a registered video whose file is :func:`media_file`."""
    with store.unit_of_work() as uow:
        uow.videos.add(video_for(media_file, "vid-media"))
    return "vid-media"
