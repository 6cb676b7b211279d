"""Reading artifacts: a video's artifacts (filters, selection, pages), one artifact with its
provenance, provenance queries and the profiles a video has."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from eioku.api.deps import encode_cursor
from tests.api.conftest import Library, assert_error

LIST = "/v1/videos/vid-a/artifacts"


def _start(artifact_id: str) -> int:
    return int(artifact_id.rsplit("-", 1)[1])


def _ids(client: TestClient, **params: Any) -> list[str]:
    response = client.get(LIST, params=params)
    assert response.status_code == 200, response.text
    return [artifact["artifact_id"] for artifact in response.json()["artifacts"]]


def test_default_selection_shows_the_latest_run_per_type(
    client: TestClient, library: Library
) -> None:
    # transcript: the high-quality run started last; OCR only has the fast run
    assert _ids(client) == ["th-500", "ocr-1000", "th-3000", "ocr-6000"]


def test_envelope_has_every_field_and_the_payload(client: TestClient, library: Library) -> None:
    artifact = client.get(LIST, params={"type": "ocr.text"}).json()["artifacts"][0]
    assert set(artifact) == {
        "artifact_id", "asset_id", "artifact_type", "schema_version", "span_start_ms",
        "span_end_ms", "payload", "producer", "producer_version", "model_profile",
        "config_hash", "input_hash", "run_id", "created_at",
    }  # fmt: skip
    assert artifact["payload"]["text"] == "invoice 1000"
    assert artifact["created_at"].endswith("+00:00")


TRANSCRIPT = "transcript.segment"
FAST = ["tf-0", "tf-2000", "tf-4000"]
HIGH = ["th-500", "th-3000"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": TRANSCRIPT, "selection": "all"}, sorted([*FAST, *HIGH], key=_start)),
        ({"type": TRANSCRIPT, "profile": "fast"}, FAST),
        ({"type": TRANSCRIPT, "selection": "profile", "profile": "balanced"}, []),
        ({"type": TRANSCRIPT, "selection": "best_quality"}, HIGH),
        ({"type": TRANSCRIPT, "selection": "pinned", "pinned_run_id": "run-fast"}, FAST),
        ({"type": TRANSCRIPT, "selection": "pinned", "pinned_artifact_id": "tf-2000"}, FAST),
        ({"run_id": "run-fast"}, ["tf-0", "ocr-1000", "tf-2000", "tf-4000", "ocr-6000"]),
        ({"producer": "nobody"}, []),
        ({"type": "scene"}, []),
    ],
)
def test_filters_and_selection(
    client: TestClient, library: Library, params: dict[str, Any], expected: list[str]
) -> None:
    assert _ids(client, **params) == expected


@pytest.mark.parametrize(
    ("from_ms", "to_ms", "expected"),
    [
        (None, 2000, ["tf-0"]),  # start < 2000: tf-2000 starts at 2000 exactly
        (1000, None, ["tf-2000", "tf-4000"]),  # end > 1000: tf-0 ends at 1000 exactly
        (999, 1000, ["tf-0"]),
        (2500, 2500, ["tf-2000"]),
        (5000, 9000, []),
    ],
)
def test_time_range_selects_by_overlap(
    client: TestClient,
    library: Library,
    from_ms: int | None,
    to_ms: int | None,
    expected: list[str],
) -> None:
    params: dict[str, Any] = {"type": "transcript.segment", "profile": "fast"}
    if from_ms is not None:
        params["from_ms"] = from_ms
    if to_ms is not None:
        params["to_ms"] = to_ms
    assert _ids(client, **params) == expected


def test_pages_follow_the_cursor_to_the_end(client: TestClient, library: Library) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"selection": "all", "limit": 2}
    while True:
        body = client.get(LIST, params=params).json()
        assert len(body["artifacts"]) <= 2
        seen += [artifact["artifact_id"] for artifact in body["artifacts"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == _ids(client, selection="all", limit=1000)
    assert len(seen) == 7


@pytest.mark.parametrize(
    "params",
    [
        {"from_ms": -1},
        {"to_ms": 2**63},
        {"from_ms": "soon"},
        {"from_ms": "1e3"},
        {"limit": 0},
        {"limit": 1001},
        {"selection": "newest"},
        {"profile": "ultra"},
        {"type": ""},
    ],
)
def test_bad_parameters_are_400_with_field_details(
    client: TestClient, library: Library, params: dict[str, Any]
) -> None:
    body = assert_error(client.get(LIST, params=params), 400, "invalid_input")
    assert body["details"]["errors"][0]["field"].startswith("query.")


@pytest.mark.parametrize(
    "params",
    [
        {"from_ms": 5000, "to_ms": 1000},
        {"selection": "pinned"},
        {"selection": "profile"},
        {"pinned_run_id": "run-fast"},
        {"selection": "latest", "profile": "fast"},
        {"type": "transcript.segment", "selection": "pinned", "pinned_run_id": "no-such-run"},
        {"cursor": "%%%"},
        {"cursor": encode_cursor("x", "y")},
        {"cursor": encode_cursor(-5, "y")},
        {"cursor": encode_cursor(True, "y")},
        {"cursor": encode_cursor(5)},
    ],
)
def test_inconsistent_queries_are_400(
    client: TestClient, library: Library, params: dict[str, Any]
) -> None:
    assert_error(client.get(LIST, params=params), 400, "invalid_query")


def test_artifacts_of_an_unknown_video_are_404(client: TestClient, library: Library) -> None:
    assert_error(client.get("/v1/videos/nope/artifacts"), 404, "not_found")


def test_one_artifact_comes_with_its_provenance(client: TestClient, library: Library) -> None:
    body = client.get("/v1/artifacts/th-500").json()
    assert body["artifact_id"] == "th-500"
    assert body["payload"] == {
        "text": "hello world number 500",
        "speaker": None,
        "confidence": 0.9,
        "language": "en",
    }
    provenance = body["provenance"]
    assert provenance["producer"] == "test-producer"
    assert provenance["model_profile"] == "high_quality"
    assert provenance["config_hash"] == "cfg-1"
    assert provenance["input_hash"] == "in-1"
    run = provenance["run"]
    assert run["run_id"] == library.run_hq
    assert run["status"] == "running"
    assert [stage["stage"] for stage in run["stages"]] == ["transcribe", "ocr"]
    assert run["stages"][0] == {
        "stage": "transcribe",
        "status": "pending",
        "progress": 0.0,
        "error": None,
        "started_at": None,
        "finished_at": None,
        "input_hash": None,
        "config_hash": None,
        "artifact_count": None,
    }


def test_unknown_artifact_is_404(client: TestClient) -> None:
    assert_error(client.get("/v1/artifacts/nope"), 404, "not_found")


def test_provenance_query_finds_artifacts_across_the_library(
    client: TestClient, library: Library
) -> None:
    body = client.get("/v1/artifacts", params={"producer": "test-producer", "limit": 3}).json()
    assert len(body["artifacts"]) == 3
    assert body["has_more"] is True
    every = client.get("/v1/artifacts", params={"config_hash": "cfg-1"}).json()
    assert len(every["artifacts"]) == 7
    assert every["has_more"] is False
    ids = [artifact["artifact_id"] for artifact in every["artifacts"]]
    assert ids == sorted(ids)
    none = client.get("/v1/artifacts", params={"producer_version": "9"}).json()
    assert none == {"artifacts": [], "has_more": False}


def test_provenance_query_needs_a_filter(client: TestClient) -> None:
    assert_error(client.get("/v1/artifacts"), 400, "invalid_query")


def test_profiles_lists_profiles_ranked_with_runs(client: TestClient, library: Library) -> None:
    body = client.get(
        "/v1/videos/vid-a/profiles", params={"artifact_type": "transcript.segment"}
    ).json()
    assert body["video_id"] == "vid-a"
    assert body["artifact_type"] == "transcript.segment"
    assert [(p["profile"], p["artifact_count"]) for p in body["profiles"]] == [
        ("fast", 3),
        ("high_quality", 2),
    ]
    fast_run = body["profiles"][0]["runs"][0]
    assert fast_run["run_id"] == library.run_fast
    assert fast_run["status"] == "queued"
    assert fast_run["artifact_count"] == 3
    assert fast_run["started_at"] == "2026-01-01T00:01:00+00:00"


def test_profiles_of_a_type_without_artifacts_is_empty(
    client: TestClient, library: Library
) -> None:
    body = client.get("/v1/videos/vid-b/profiles", params={"artifact_type": "scene"}).json()
    assert body["profiles"] == []


def test_profiles_need_a_type_and_a_known_video(client: TestClient, library: Library) -> None:
    assert_error(client.get("/v1/videos/vid-a/profiles"), 400, "invalid_input")
    assert_error(client.get("/v1/videos/nope/profiles", params={"artifact_type": "scene"}), 404)
