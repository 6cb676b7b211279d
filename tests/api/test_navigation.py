"""Navigation endpoints: jump, find, global jump and the gallery, with their error cases."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eioku.storage.exchange.importing import import_records
from eioku.storage.store import Store
from tests.api.conftest import assert_error

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo_library.py"


@pytest.fixture
def demo(store: Store) -> Store:
    """The README's demo library: two videos, each analysed fast and high_quality."""
    jsonl = subprocess.run([sys.executable, str(DEMO)], check=True, capture_output=True).stdout
    import_records(store, io.BytesIO(jsonl))
    return store


def get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_jump_next_returns_the_first_later_match_with_its_span(
    demo: Store, client: TestClient
) -> None:
    body = get(client, "/v1/videos/demo-video-1/jump", kind="object", label="dog", from_ms=0)
    assert body == {
        "video_id": "demo-video-1",
        "jump_to": {"start_ms": 7000, "end_ms": 7000},
        "artifact_ids": ["demo-run-1-hq-object.detection-7000"],
    }


def test_jump_prev_returns_the_latest_end_before_t(demo: Store, client: TestClient) -> None:
    body = get(
        client, "/v1/videos/demo-video-1/jump", kind="transcript", direction="prev", from_ms=12000
    )
    assert body["jump_to"] == {"start_ms": 6000, "end_ms": 11500}


def test_jump_with_selection_all_returns_ties_of_both_runs(demo: Store, client: TestClient) -> None:
    body = get(client, "/v1/videos/demo-video-1/jump", kind="object", label="dog", selection="all")
    assert body["artifact_ids"] == [
        "demo-run-1-fast-object.detection-7000",
        "demo-run-1-hq-object.detection-7000",
    ]


def test_jump_with_a_profile_reads_that_profiles_run(demo: Store, client: TestClient) -> None:
    body = get(client, "/v1/videos/demo-video-1/jump", kind="face", profile="fast")
    assert body["artifact_ids"] == ["demo-run-1-fast-face.detection-3000"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"kind": "dog"}, 400, "invalid_input"),
        ({"kind": "object", "direction": "sideways"}, 400, None),
        ({"kind": "object", "from_ms": -1}, 400, None),
        ({"kind": "object", "from_ms": "soon"}, 400, None),
        ({"kind": "object", "from_ms": 2**63}, 400, None),
        ({"kind": "scene", "label": "dog"}, 400, "invalid_query"),
        ({"kind": "object", "q": "dog"}, 400, "invalid_query"),
        ({"kind": "object", "min_confidence": 2}, 400, None),
        ({"kind": "object", "selection": "pinned"}, 400, "invalid_query"),
        ({"kind": "object", "selection": "pinned", "pinned_run_id": "nope"}, 400, None),
        ({"kind": "object", "label": "unicorn"}, 404, "not_found"),
        ({"kind": "object", "from_ms": 10**12}, 404, "not_found"),
    ],
)
def test_jump_rejects_bad_input_with_the_standard_error(
    demo: Store, client: TestClient, params: dict[str, Any], status: int, code: str | None
) -> None:
    response = client.get("/v1/videos/demo-video-1/jump", params=params)
    assert_error(response, status, code)


def test_jump_in_an_unknown_video_is_404(demo: Store, client: TestClient) -> None:
    assert_error(client.get("/v1/videos/nope/jump", params={"kind": "scene"}), 404, "not_found")


def test_find_merges_sources_by_time_and_tags_each_match(demo: Store, client: TestClient) -> None:
    body = get(client, "/v1/videos/demo-video-1/find", q="invoice")
    assert [(m["source"], m["jump_to"]["start_ms"]) for m in body["matches"]] == [
        ("ocr", 12000),
        ("transcript", 12000),
    ]
    assert all("<b>" in m["snippet"].lower() for m in body["matches"])


def test_find_prev_is_descending(demo: Store, client: TestClient) -> None:
    body = get(
        client, "/v1/videos/demo-video-1/find", q="the", direction="prev", from_ms=25000, limit=3
    )
    starts = [m["jump_to"]["start_ms"] for m in body["matches"]]
    assert starts == sorted(starts, reverse=True)
    assert len(starts) == 3


@pytest.mark.parametrize(
    "q", ["", '"', "AND OR NOT", "*^:-+(){}", "日本語", "x" * 10_000, "a\x00b", "<script>"]
)
def test_find_accepts_any_text(demo: Store, client: TestClient, q: str) -> None:
    body = get(client, "/v1/videos/demo-video-1/find", q=q)
    assert isinstance(body["matches"], list)


def test_find_limit_out_of_range_is_400(demo: Store, client: TestClient) -> None:
    response = client.get("/v1/videos/demo-video-1/find", params={"q": "dog", "limit": 101})
    assert_error(response, 400)


def test_global_jump_walks_the_library_in_filming_order(demo: Store, client: TestClient) -> None:
    first = get(client, "/v1/jump/global", kind="object", label="dog")
    assert (first["video_id"], first["jump_to"]["start_ms"]) == ("demo-video-1", 7000)
    assert first["has_more"] is True
    assert first["preview"] == {"label": "dog", "confidence": 0.93}
    second = get(
        client,
        "/v1/jump/global",
        kind="object",
        label="dog",
        video_id="demo-video-1",
        from_ms=19000,
    )
    assert (second["video_id"], second["jump_to"]["start_ms"]) == ("demo-video-2", 7000)
    last = get(client, "/v1/jump/global", kind="object", label="dog", direction="prev")
    assert (last["video_id"], last["jump_to"]["start_ms"], last["has_more"]) == (
        "demo-video-2",
        19000,
        True,
    )


def test_global_jump_errors(demo: Store, client: TestClient) -> None:
    assert_error(client.get("/v1/jump/global", params={"kind": "object", "from_ms": 5}), 400)
    unknown = {"kind": "object", "video_id": "nope"}
    assert_error(client.get("/v1/jump/global", params=unknown), 404, "not_found")
    nothing = {"kind": "object", "label": "unicorn"}
    assert_error(client.get("/v1/jump/global", params=nothing), 404, "not_found")


def test_search_pages_through_every_match_once(demo: Store, client: TestClient) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"kind": "object", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = get(client, "/v1/search", **params)
        seen += [item["artifact_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 10  # 5 objects per video, selected runs only


def test_search_groups_by_video_with_counts(demo: Store, client: TestClient) -> None:
    body = get(client, "/v1/search", kind="object", label="dog", group_by="video")
    assert [(v["video_id"], v["count"]) for v in body["videos"]] == [
        ("demo-video-1", 2),
        ("demo-video-2", 2),
    ]


def test_search_filters_by_filename_and_rejects_bad_cursors(
    demo: Store, client: TestClient
) -> None:
    body = get(client, "/v1/search", kind="transcript", q="bread", filename="VIDEO-2")
    assert {item["video_id"] for item in body["items"]} == {"demo-video-2"}
    response = client.get("/v1/search", params={"kind": "object", "cursor": "not-a-cursor"})
    assert_error(response, 400, "invalid_query")
