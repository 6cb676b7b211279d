"""Starting work over HTTP: registering files from library folders and queuing runs that
worker processes execute (real decoding and real PySceneDetect on a generated clip)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eioku.storage.store import Store
from tests.api.conftest import assert_error, make_app, row_counts
from tests.media import make_video
from tests.polling import finished_run


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    (folder / "trips").mkdir(parents=True)
    make_video(folder / "trips" / "clip.mp4", seconds=3, fps=10, size=(96, 64))
    return folder


@pytest.fixture
def client(store: Store, tmp_path: Path, library: Path) -> Iterator[TestClient]:
    # executor="local": the local process pool on both engines (PostgreSQL would queue the
    # runs for `eioku worker` processes; tests/pipeline/test_workers.py covers that path).
    app = make_app(store, tmp_path / "cache", library_dirs=[library], executor="local")
    with TestClient(app) as test_client:
        yield test_client


def test_register_a_library_file_then_run_stages_on_it(client: TestClient, library: Path) -> None:
    path = library / "trips" / "clip.mp4"
    created = client.post("/v1/videos", json={"path": str(path)})
    assert created.status_code == 201, created.text
    video = created.json()
    assert video["filename"] == "clip.mp4"
    assert video["duration_ms"] == 3000
    again = client.post("/v1/videos", json={"path": str(path)})
    assert again.json()["video_id"] == video["video_id"]  # the same file, registered once

    body = {"profile": "fast", "stages": ["scenes", "metadata"]}
    started = client.post(f"/v1/videos/{video['video_id']}/runs", json=body)
    assert started.status_code == 202, started.text
    queued = started.json()
    assert queued["status"] == "queued"
    assert [s["stage"] for s in queued["stages"]] == ["metadata", "scenes"]
    run = finished_run(client, queued["run_id"])
    assert run["status"] == "completed", run
    scenes = {s["stage"]: s for s in run["stages"]}["scenes"]
    assert scenes["artifact_count"] == 3  # one colour a second: three shots
    listed = client.get(f"/v1/videos/{video['video_id']}/artifacts", params={"type": "scene"})
    assert listed.status_code == 200, listed.text

    unchanged = client.post(f"/v1/videos/{video['video_id']}/runs", json=body)
    assert unchanged.status_code == 200
    assert unchanged.json()["run_id"] == queued["run_id"]
    forced = client.post(f"/v1/videos/{video['video_id']}/runs", json={**body, "force": True})
    assert forced.status_code == 202
    assert forced.json()["run_id"] != queued["run_id"]
    assert finished_run(client, forced.json()["run_id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/etc/hostname", 400),
        ("{library}/../outside.mp4", 400),
        ("{library}/trips/missing.mp4", 404),
        ("{library}/trips/\u0000.mp4", 400),
        ("", 400),
    ],
)
def test_register_refuses_paths_outside_the_library_or_missing(
    client: TestClient, store: Store, library: Path, path: str, status: int
) -> None:
    (library.parent / "outside.mp4").write_bytes(b"x")
    before = row_counts(store)
    response = client.post("/v1/videos", json={"path": path.format(library=library)})
    assert_error(response, status)
    assert row_counts(store) == before


def test_register_needs_configured_library_folders(store: Store, tmp_path: Path) -> None:
    with TestClient(make_app(store, tmp_path / "cache")) as bare:
        body = assert_error(bare.post("/v1/videos", json={"path": str(tmp_path)}), 400)
    assert "EIOKU_LIBRARY_DIRS" in body["message"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"stages": ["nope"]}, 400),
        ({"stages": []}, 400),
        ({"profile": "ultra"}, 400),
        ({"force": "maybe"}, 400),
    ],
)
def test_start_run_rejects_bad_requests_and_writes_nothing(
    client: TestClient, store: Store, library: Path, body: dict[str, Any], status: int
) -> None:
    path = library / "trips" / "clip.mp4"
    video = client.post("/v1/videos", json={"path": str(path)}).json()
    before = row_counts(store)
    assert_error(client.post(f"/v1/videos/{video['video_id']}/runs", json=body), status)
    assert row_counts(store) == before


def test_start_run_on_an_unknown_video_is_404(client: TestClient) -> None:
    assert_error(client.post("/v1/videos/nope/runs", json={}), 404)
