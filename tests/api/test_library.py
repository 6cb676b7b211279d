"""``/v1/library/sources``: adding folders inside the library folders, listing, removing,
and scanning with runs executed by the app's local worker pool on both engines (real
decoding, ``metadata``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eioku.pipeline.local import LocalRunQueue
from eioku.storage.store import Store
from tests.api.conftest import assert_error, make_app
from tests.media import make_video
from tests.polling import finished_run


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The configured library folder, with one source-to-be holding two videos."""
    folder = tmp_path / "library"
    (folder / "trips" / "day1").mkdir(parents=True)
    make_video(folder / "trips" / "a.mp4", seconds=2)
    make_video(folder / "trips" / "day1" / "b.mp4", seconds=3)
    (folder / "trips" / "clip.mp4.txt").write_text("not a video")
    return folder


@pytest.fixture
def client(store: Store, tmp_path: Path, root: Path) -> Iterator[TestClient]:
    app = make_app(
        store, tmp_path / "cache", library_dirs=[root], model_dir=tmp_path / "m", executor="local"
    )
    with TestClient(app) as test_client:
        yield test_client
    queue: LocalRunQueue | None = getattr(app.state, "run_queue", None)
    if queue is not None:
        queue.shutdown()


def _add(client: TestClient, path: Path, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/library/sources", json={"path": str(path), **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_add_list_and_delete_sources(client: TestClient, root: Path) -> None:
    created = _add(client, root / "trips" / "day1" / "..", watch=True, profile="fast")
    assert created["path"] == str(root / "trips")
    assert created["watch"] is True
    assert created["profile"] == "fast"
    assert "metadata" in created["stages"]  # every stage
    assert created["last_scan_at"] is None
    listed = client.get("/v1/library/sources")
    assert listed.status_code == 200
    assert listed.json() == {"sources": [created]}
    deleted = client.delete(f"/v1/library/sources/{created['source_id']}")
    assert deleted.status_code == 204
    assert client.get("/v1/library/sources").json() == {"sources": []}
    assert_error(client.delete(f"/v1/library/sources/{created['source_id']}"), 404, "not_found")


def test_scan_registers_queues_runs_and_follows_changes(client: TestClient, root: Path) -> None:
    source = _add(client, root / "trips", stages=["metadata"], profile="fast")
    scan_url = f"/v1/library/sources/{source['source_id']}/scan"
    response = client.post(scan_url)
    assert response.status_code == 200, response.text
    report = response.json()
    assert {Path(e["path"]).name for e in report["new"]} == {"a.mp4", "b.mp4"}
    assert report["unchanged"] == 0
    assert report["errors"] == []
    for entry in report["new"]:
        run = finished_run(client, entry["run_id"])
        assert run["status"] == "completed", run
        assert [s["stage"] for s in run["stages"]] == ["metadata"]
        assert run["pipeline_profile"] == "fast"

    (root / "trips" / "a.mp4").rename(root / "trips" / "day1" / "a.mp4")
    (root / "trips" / "day1" / "b.mp4").unlink()
    again = client.post(scan_url, params={"run": "false"}).json()
    assert [Path(e["path"]).name for e in again["moved"]] == ["a.mp4"]
    assert [e["detail"] for e in again["missing"]] == ["file is gone"]
    videos = {v["video_id"]: v for v in client.get("/v1/videos").json()["videos"]}
    moved = videos[again["moved"][0]["video_id"]]
    assert (moved["path"], moved["status"]) == (str(root / "trips" / "day1" / "a.mp4"), "ready")
    assert videos[again["missing"][0]["video_id"]]["status"] == "missing"
    assert client.get("/v1/library/sources").json()["sources"][0]["last_scan_at"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"path": "{root}/nope"}, 404, "not_found"),
        ({"path": "{root}/trips/a.mp4"}, 400, "invalid_input"),
        ({"path": "{root}/.."}, 400, "invalid_input"),
        ({"path": "/etc"}, 400, "invalid_input"),
        ({"path": "{root}/trips\u0000"}, 400, "invalid_input"),
        ({"path": ""}, 400, "invalid_input"),
        ({"path": "{root}/trips", "stages": []}, 400, "invalid_input"),
        ({"path": "{root}/trips", "stages": ["telepathy"]}, 400, "invalid_input"),
        ({"path": "{root}/trips", "profile": "ultra"}, 400, "invalid_input"),
        ({"path": "{root}/trips", "watch": "sometimes"}, 400, "invalid_input"),
        ({"path": 7}, 400, "invalid_input"),
        ({}, 400, "invalid_input"),
    ],
)
def test_bad_sources_are_refused_and_nothing_is_stored(
    client: TestClient, root: Path, body: dict[str, Any], status: int, code: str
) -> None:
    if isinstance(body.get("path"), str):
        body = {**body, "path": body["path"].format(root=root)}
    assert_error(client.post("/v1/library/sources", json=body), status, code)
    assert client.get("/v1/library/sources").json() == {"sources": []}


def test_duplicate_and_overlapping_sources_conflict(client: TestClient, root: Path) -> None:
    _add(client, root / "trips")
    for path in (root / "trips", root / "trips" / "day1", root):
        response = client.post("/v1/library/sources", json={"path": str(path)})
        body = assert_error(response, 409, "conflict")
        assert body["details"]["path"] == str(root / "trips")


def test_sources_need_configured_library_folders(store: Store, tmp_path: Path) -> None:
    with TestClient(make_app(store, tmp_path / "cache")) as bare:
        response = bare.post("/v1/library/sources", json={"path": str(tmp_path)})
        body = assert_error(response, 400, "invalid_input")
    assert "EIOKU_LIBRARY_DIRS" in body["message"]


@pytest.mark.parametrize("source_id", ["nope", "x" * 1025, "a%00b"])
def test_unknown_or_bad_source_ids(client: TestClient, source_id: str) -> None:
    expected = 404 if source_id == "nope" else 400
    assert_error(client.post(f"/v1/library/sources/{source_id}/scan"), expected)
    assert_error(client.delete(f"/v1/library/sources/{source_id}"), expected)


def test_a_scan_of_a_vanished_folder_reports_it_and_changes_nothing(
    client: TestClient, root: Path
) -> None:
    source = _add(client, root / "trips", stages=["metadata"])
    url = f"/v1/library/sources/{source['source_id']}/scan"
    client.post(url, params={"run": "false"})
    (root / "trips").rename(root / "elsewhere")
    report = client.post(url).json()
    assert [e["path"] for e in report["errors"]] == [str(root / "trips")]
    assert report["missing"] == []
    assert {v["status"] for v in client.get("/v1/videos").json()["videos"]} == {"registered"}
