"""``/v1/videos``: listing along the global timeline, one video's data, deletion."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eioku.api.deps import encode_cursor
from eioku.storage.store import Store
from tests.api.conftest import Library, assert_error
from tests.factories import EPOCH, make_video


def _add_videos(store: Store, count: int) -> list[str]:
    """Videos recorded in reverse id order, so timeline order differs from id order."""
    ids = [f"v{index:02d}" for index in range(count)]
    with store.unit_of_work() as uow:
        for index, video_id in enumerate(ids):
            recorded = EPOCH + timedelta(hours=count - index)
            uow.videos.add(make_video(video_id, recorded_at=recorded))
    return list(reversed(ids))


def _walk(client: TestClient, **params: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/videos", params=query).json()
        seen += [video["video_id"] for video in page["videos"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_videos_are_listed_along_the_timeline_in_pages(client: TestClient, store: Store) -> None:
    timeline = _add_videos(store, 7)
    assert _walk(client, limit=3) == timeline
    assert _walk(client, limit=2, order="desc") == list(reversed(timeline))
    assert _walk(client, limit=500) == timeline


def test_video_record_uses_spec_columns_and_iso_times(client: TestClient, store: Store) -> None:
    _add_videos(store, 1)
    video = client.get("/v1/videos").json()["videos"][0]
    assert set(video) == {
        "video_id", "path", "filename", "file_size", "file_mtime", "file_hash",
        "duration_ms", "recorded_at", "status", "created_at", "updated_at",
    }  # fmt: skip
    assert video["file_mtime"] == "2026-01-01T00:00:00+00:00"


def test_empty_library_has_no_next_cursor(client: TestClient) -> None:
    assert client.get("/v1/videos").json() == {"videos": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "1.5"])
def test_limit_out_of_range_is_400(client: TestClient, limit: str) -> None:
    assert_error(client.get("/v1/videos", params={"limit": limit}), 400, "invalid_input")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "é",
        encode_cursor(1, "x"),
        encode_cursor("not-a-time", "x"),
        encode_cursor("2026-01-01T00:00:00", "x"),  # naive
        encode_cursor("2026-01-01T00:00:00+00:00"),
    ],
)
def test_bad_cursor_is_400(client: TestClient, cursor: str) -> None:
    assert_error(client.get("/v1/videos", params={"cursor": cursor}), 400, "invalid_query")


def test_bad_order_is_400(client: TestClient) -> None:
    assert_error(client.get("/v1/videos", params={"order": "up"}), 400, "invalid_input")


def test_video_detail_lists_types_profiles_and_runs(client: TestClient, library: Library) -> None:
    body = client.get(f"/v1/videos/{library.video_a}").json()
    assert body["video_id"] == library.video_a
    assert body["source"] == "artifacts"
    assert body["legacy"] is False
    assert body["artifact_types"] == [
        {
            "artifact_type": "ocr.text",
            "artifact_count": 2,
            "profiles": [{"profile": "fast", "artifact_count": 2}],
        },
        {
            "artifact_type": "transcript.segment",
            "artifact_count": 5,
            "profiles": [
                {"profile": "fast", "artifact_count": 3},
                {"profile": "high_quality", "artifact_count": 2},
            ],
        },
    ]
    assert [(run["run_id"], run["pipeline_profile"], run["status"]) for run in body["runs"]] == [
        (library.run_hq, "high_quality", "running"),
        (library.run_fast, "fast", "queued"),
    ]


def test_video_without_data_has_empty_lists(client: TestClient, library: Library) -> None:
    body = client.get(f"/v1/videos/{library.video_b}").json()
    assert body["artifact_types"] == []
    assert body["runs"] == []


def test_unknown_video_is_404(client: TestClient) -> None:
    body = assert_error(client.get("/v1/videos/nope"), 404, "not_found")
    assert body["details"] == {"video_id": "nope"}


def test_delete_removes_the_video_and_everything_it_owns(
    client: TestClient, library: Library
) -> None:
    response = client.delete(f"/v1/videos/{library.video_a}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get(f"/v1/videos/{library.video_a}"), 404)
    assert_error(client.get(f"/v1/runs/{library.run_fast}"), 404)
    assert_error(client.get(f"/v1/artifacts/{library.ocr[0]}"), 404)
    assert_error(client.delete(f"/v1/videos/{library.video_a}"), 404)


def test_delete_drops_cached_thumbnails(
    client: TestClient, media_video: str, tmp_path: Path
) -> None:
    assert client.get(f"/v1/videos/{media_video}/thumbnail").status_code == 200
    assert list((tmp_path / "cache").rglob("*.jpg"))
    assert client.delete(f"/v1/videos/{media_video}").status_code == 204
    assert not list((tmp_path / "cache").rglob("*.jpg"))
