"""``POST /v1/videos/{id}/artifacts``: validated, all-or-nothing uploads by external producers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eioku.storage.store import Store
from tests.api.conftest import Library, assert_error, make_app, row_counts
from tests.factories import sample_payload

UPLOAD = "/v1/videos/vid-a/artifacts"
RUN = {"pipeline_profile": "fast"}


def _item(
    index: int = 0, artifact_type: str = "transcript.segment", **fields: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "artifact_type": artifact_type,
        "schema_version": 1,
        "span_start_ms": index * 1000,
        "span_end_ms": index * 1000 + 500,
        "payload": sample_payload(artifact_type, index),
        "producer": "external-asr",
        "producer_version": "2.1",
        "config_hash": "cfg-ext",
        "input_hash": "in-ext",
    }
    return {**item, **fields}


def test_upload_with_a_new_run_stores_run_and_artifacts(
    client: TestClient, library: Library
) -> None:
    run = {
        "run_id": "run-ext",
        "pipeline_profile": "balanced",
        "started_at": "2026-02-01T10:00:00+02:00",
    }
    items = [_item(0, artifact_id="up-0"), _item(1), _item(2, "ocr.text")]
    body = {"run": run, "artifacts": items}
    response = client.post(UPLOAD, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["run_id"] == "run-ext"
    assert created["artifact_ids"][0] == "up-0"
    assert len(created["artifact_ids"]) == 3
    run = client.get("/v1/runs/run-ext").json()
    assert run["status"] == "completed"
    assert run["started_at"] == "2026-02-01T08:00:00+00:00"
    assert run["finished_at"] is not None
    stored = client.get(f"/v1/artifacts/{created['artifact_ids'][1]}").json()
    assert stored["asset_id"] == "vid-a"
    assert stored["run_id"] == "run-ext"
    assert stored["model_profile"] == "balanced"
    assert stored["payload"]["language"] == "en"  # normalised by the schema
    listed = client.get(UPLOAD, params={"run_id": "run-ext"}).json()["artifacts"]
    assert [a["artifact_id"] for a in listed] == created["artifact_ids"]


def test_upload_into_an_existing_run(client: TestClient, library: Library) -> None:
    items = [_item(7, run_id=library.run_fast, model_profile="fast", asset_id="vid-a")]
    response = client.post(UPLOAD, json={"artifacts": items})
    assert response.status_code == 201, response.text
    assert response.json()["run_id"] is None
    artifact_id = response.json()["artifact_ids"][0]
    assert client.get(f"/v1/artifacts/{artifact_id}").json()["run_id"] == library.run_fast


def _rejected(client: TestClient, body: dict[str, Any], status: int = 400) -> dict[str, Any]:
    return assert_error(client.post(UPLOAD, json=body), status)


def test_invalid_items_are_listed_with_their_field_errors(
    client: TestClient, library: Library, store: Store
) -> None:
    before = row_counts(store)
    items = [
        _item(0),
        _item(1, span_start_ms=-5),
        _item(2, payload={"text": ""}),
        {**_item(3), "artifact_type": "no.such.type"},
        _item(4, asset_id="vid-b"),
    ]
    error = _rejected(client, {"run": RUN, "artifacts": items})
    failures = error["details"]["items"]
    assert [failure["index"] for failure in failures] == [1, 4]  # envelope checks come first
    assert failures[0]["errors"][0]["field"] == "span_start_ms"
    assert failures[1]["errors"] == [
        {"field": "asset_id", "message": "asset_id must be the video in the path (vid-a)"}
    ]
    registry_error = _rejected(client, {"run": RUN, "artifacts": [items[0], items[2], items[3]]})
    failures = registry_error["details"]["items"]
    assert [(f["index"], f["error"]) for f in failures] == [
        (1, "schema_validation_error"),
        (2, "schema_not_found"),
    ]
    assert failures[0]["errors"][0]["field"] == "text"
    assert row_counts(store) == before  # nothing written, not even the run


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"artifacts": [_item(0)]}, "run_id"),
        ({"run": RUN, "artifacts": [_item(0, run_id="other")]}, "run_id"),
        ({"run": RUN, "artifacts": [_item(0, created_at="2026-01-01T00:00:00Z")]}, "created_at"),
        ({"run": RUN, "artifacts": [_item(0, model_profile="ultra")]}, "model_profile"),
        ({"run": RUN, "artifacts": [_item(0, surprise=1)]}, "surprise"),
        ({"run": RUN, "artifacts": [_item(0, span_start_ms=10, span_end_ms=5)]}, "(root)"),
    ],
)
def test_item_errors_name_the_field(
    client: TestClient, library: Library, body: dict[str, Any], field: str
) -> None:
    failure = _rejected(client, body)["details"]["items"][0]
    assert failure["index"] == 0
    assert failure["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "body",
    [
        {"artifacts": []},
        {"run": {"pipeline_profile": "ultra"}, "artifacts": [_item(0)]},
        {"run": {**RUN, "started_at": "2026-01-01T00:00:00"}, "artifacts": [_item(0)]},
        {"run": {**RUN, "status": "failed"}, "artifacts": [_item(0)]},
        {"artifacts": "all of them"},
        {"artifacts": [1, 2]},
        {"extra": True, "artifacts": [_item(0)]},
        [],
    ],
)
def test_malformed_bodies_are_400(client: TestClient, library: Library, body: Any) -> None:
    assert_error(client.post(UPLOAD, json=body), 400, "invalid_input")


def test_unknown_run_in_an_item_is_400(client: TestClient, library: Library) -> None:
    error = _rejected(client, {"artifacts": [_item(0, run_id="no-such-run", model_profile="fast")]})
    assert "no-such-run" in error["message"]


def test_upload_to_an_unknown_video_is_404(client: TestClient, library: Library) -> None:
    body = {"run": RUN, "artifacts": [_item(0)]}
    assert_error(client.post("/v1/videos/nope/artifacts", json=body), 404, "not_found")


def test_duplicate_ids_are_409(client: TestClient, library: Library, store: Store) -> None:
    before = row_counts(store)
    repeated = [_item(0, artifact_id="same"), _item(1, artifact_id="same")]
    error = _rejected(client, {"run": RUN, "artifacts": repeated}, 409)
    assert error["details"]["items"][0]["index"] == 1
    stored = [_item(0, artifact_id=library.ocr[0])]
    _rejected(client, {"run": RUN, "artifacts": stored}, 409)
    existing_run = {"run_id": library.run_fast, "pipeline_profile": "fast"}
    _rejected(client, {"run": existing_run, "artifacts": [_item(0)]}, 409)
    assert row_counts(store) == before


def test_batch_size_is_capped(client: TestClient, library: Library) -> None:
    body = {"run": RUN, "artifacts": [{}] * 50_001}
    error = assert_error(client.post(UPLOAD, json=body), 400, "invalid_input")
    assert "50000" in error["message"]


def test_body_size_is_capped_with_413(store: Store, library: Library, tmp_path: Path) -> None:
    body = {"run": RUN, "artifacts": [_item(i) for i in range(50)]}
    with TestClient(make_app(store, tmp_path, max_upload_bytes=2_000)) as client:
        error = assert_error(client.post(UPLOAD, json=body), 413, "payload_too_large")
        assert "2000 bytes" in error["message"]

        def chunks() -> Any:  # no Content-Length: counted as it arrives
            yield b'{"artifacts": ['
            for _ in range(100):
                yield b'{"a": "' + b"x" * 100 + b'"},'
            yield b"{}]}"

        streamed = client.post(
            UPLOAD, content=chunks(), headers={"content-type": "application/json"}
        )
        assert_error(streamed, 413, "payload_too_large")
