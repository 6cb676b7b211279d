"""``/v1/videos/{id}/thumbnail``: the frame nearest a time, as a JPEG, cached on disk."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from eioku.media.thumbnails import ThumbnailRequest, cache_path
from eioku.storage.store import Store
from tests.api.conftest import assert_error
from tests.media import close_to, colour_at, make_audio, mean_colour, video_for

THUMB = "/v1/videos/vid-media/thumbnail"


@pytest.mark.parametrize("at_ms", [0, 400, 1000, 1500, 2600, 3900])
def test_thumbnail_shows_the_frame_at_the_time(
    client: TestClient, media_video: str, at_ms: int
) -> None:
    response = client.get(THUMB, params={"at_ms": at_ms})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert close_to(mean_colour(response.content), colour_at(at_ms))


def test_time_past_the_end_gives_the_last_frame(client: TestClient, media_video: str) -> None:
    for at_ms in (4_000, 60_000, 2**63 - 1):
        response = client.get(THUMB, params={"at_ms": at_ms})
        assert response.status_code == 200
        assert close_to(mean_colour(response.content), colour_at(3999))


def test_width_is_honoured_and_aspect_kept(client: TestClient, media_video: str) -> None:
    for width, height in ((320, 240), (16, 12), (1920, 1440), (100, 75)):
        response = client.get(THUMB, params={"width": width})
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.size == (width, height)


def test_default_width_is_320(client: TestClient, media_video: str) -> None:
    with Image.open(io.BytesIO(client.get(THUMB).content)) as image:
        assert image.width == 320


def test_thumbnail_is_cached_by_file_hash_time_and_width(
    client: TestClient, store: Store, media_video: str, media_file: Path, tmp_path: Path
) -> None:
    with store.unit_of_work(write=False) as uow:
        video = uow.videos.get(media_video)
    request = ThumbnailRequest(media_video, media_file, video.file_hash, 1500, 200)
    cached = cache_path(tmp_path / "cache", request)
    assert not cached.exists()
    first = client.get(THUMB, params={"at_ms": 1500, "width": 200}).content
    assert cached.read_bytes() == first
    cached.write_bytes(b"from the cache")
    assert client.get(THUMB, params={"at_ms": 1500, "width": 200}).content == b"from the cache"


@pytest.mark.parametrize(
    "params",
    [
        {"width": 15},
        {"width": 1921},
        {"width": "wide"},
        {"at_ms": -1},
        {"at_ms": 2**63},
        {"at_ms": "soon"},
        {"at_ms": "1.5"},
    ],
)
def test_bad_parameters_are_400(client: TestClient, media_video: str, params: dict) -> None:
    assert_error(client.get(THUMB, params=params), 400, "invalid_input")


def test_undecodable_file_is_a_client_error_not_a_500(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with store.unit_of_work() as uow:
        uow.videos.add(video_for(junk, "vid-junk"))
    body = assert_error(client.get("/v1/videos/vid-junk/thumbnail"), 400, "invalid_input")
    assert "cannot be decoded" in body["message"]


def test_a_file_without_video_is_a_client_error(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    audio = make_audio(tmp_path / "voice.mp4")
    with store.unit_of_work() as uow:
        uow.videos.add(video_for(audio, "vid-audio"))
    body = assert_error(client.get("/v1/videos/vid-audio/thumbnail"), 400, "invalid_input")
    assert "no video stream" in body["message"]


def test_thumbnail_of_a_missing_file_or_video_is_404(
    client: TestClient, store: Store, media_file: Path, tmp_path: Path
) -> None:
    gone = tmp_path / "gone.mp4"
    gone.write_bytes(media_file.read_bytes())
    with store.unit_of_work() as uow:
        uow.videos.add(video_for(gone, "vid-gone"))
    gone.unlink()
    assert_error(client.get("/v1/videos/vid-gone/thumbnail"), 404, "not_found")
    assert_error(client.get("/v1/videos/nope/thumbnail"), 404, "not_found")


def test_an_unwritable_cache_still_serves_the_thumbnail(
    store: Store, media_video: str, tmp_path: Path
) -> None:
    from tests.api.conftest import make_app

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    with TestClient(make_app(store, blocker)) as client:
        response = client.get(THUMB, params={"at_ms": 2500})
    assert response.status_code == 200
    assert close_to(mean_colour(response.content), colour_at(2500))
