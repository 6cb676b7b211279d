"""``/v1/videos/{id}/stream``: the media file with HTTP Range handling (RFC 9110)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eioku.media.files import media_type
from eioku.storage.store import Store
from tests.api.conftest import assert_error
from tests.media import video_for

STREAM = "/v1/videos/vid-media/stream"


def test_whole_file_is_served_with_accept_ranges(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    response = client.get(STREAM)
    assert response.status_code == 200
    assert response.content == media_file.read_bytes()
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(media_file.stat().st_size)
    assert response.headers["content-disposition"].startswith("inline")


def test_first_bytes_range_is_206_with_content_range(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    data, size = media_file.read_bytes(), media_file.stat().st_size
    response = client.get(STREAM, headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.content == data[:100]
    assert response.headers["content-range"] == f"bytes 0-99/{size}"
    assert response.headers["content-length"] == "100"


def test_suffix_range_gives_the_last_bytes(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    data, size = media_file.read_bytes(), media_file.stat().st_size
    response = client.get(STREAM, headers={"Range": "bytes=-50"})
    assert response.status_code == 206
    assert response.content == data[-50:]
    assert response.headers["content-range"] == f"bytes {size - 50}-{size - 1}/{size}"


def test_open_ended_range_runs_to_the_end(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    data, size = media_file.read_bytes(), media_file.stat().st_size
    response = client.get(STREAM, headers={"Range": "bytes=1000-"})
    assert response.status_code == 206
    assert response.content == data[1000:]
    assert response.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"


def test_range_end_past_the_file_is_clamped(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    size = media_file.stat().st_size
    response = client.get(STREAM, headers={"Range": f"bytes=10-{size * 10}"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 10-{size - 1}/{size}"


def test_multiple_ranges_are_multipart_byteranges(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    data = media_file.read_bytes()
    response = client.get(STREAM, headers={"Range": "bytes=0-9, 20-29"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert data[0:10] in response.content
    assert data[20:30] in response.content
    assert response.content.count(b"Content-Type: video/mp4") == 2


def test_unsatisfiable_range_is_416_with_the_error_body(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    size = media_file.stat().st_size
    response = client.get(STREAM, headers={"Range": f"bytes={size}-"})
    assert_error(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{size}"


def test_malformed_byte_range_is_400_with_the_error_body(
    client: TestClient, media_video: str
) -> None:
    assert_error(client.get(STREAM, headers={"Range": "bytes=9-2"}), 400, "invalid_input")
    assert_error(client.get(STREAM, headers={"Range": "bytes=x-y"}), 400, "invalid_input")


def test_range_in_another_unit_is_ignored(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    response = client.get(STREAM, headers={"Range": "items=0-1"})
    assert response.status_code == 200
    assert response.content == media_file.read_bytes()


def test_head_gives_headers_without_body(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    response = client.head(STREAM)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(media_file.stat().st_size)
    ranged = client.head(STREAM, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert ranged.headers["content-length"] == "10"


def test_if_range_with_a_stale_etag_gets_the_whole_file(
    client: TestClient, media_video: str, media_file: Path
) -> None:
    response = client.get(STREAM, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert len(response.content) == media_file.stat().st_size


def test_missing_file_is_404_with_a_clear_message(
    client: TestClient, store: Store, media_file: Path, tmp_path: Path
) -> None:
    gone = tmp_path / "gone.mp4"
    gone.write_bytes(media_file.read_bytes())
    with store.unit_of_work() as uow:
        uow.videos.add(video_for(gone, "vid-gone"))
    gone.unlink()
    body = assert_error(client.get("/v1/videos/vid-gone/stream"), 404, "not_found")
    assert "missing on disk" in body["message"]


def test_unknown_video_stream_is_404(client: TestClient) -> None:
    assert_error(client.get("/v1/videos/nope/stream"), 404, "not_found")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.mp4", "video/mp4"),
        ("a.M4V", "video/x-m4v"),
        ("a.mov", "video/quicktime"),
        ("a.mkv", "video/x-matroska"),
        ("a.webm", "video/webm"),
        ("a.avi", "video/x-msvideo"),
        ("a.mpeg", "video/mpeg"),
        ("a.mpg", "video/mpeg"),
        ("a.ts", "video/mp2t"),
        ("a.3gp", "video/3gpp"),
        ("a.wmv", "video/x-ms-wmv"),
        ("a.flv", "video/x-flv"),
        ("a.ogv", "video/ogg"),
        ("a.unknownext", "application/octet-stream"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_container_extension(name: str, expected: str) -> None:
    assert media_type(name) == expected
