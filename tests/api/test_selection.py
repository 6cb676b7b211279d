"""``/v1/videos/{id}/selection/{type}``: the stored policy, read, written and cleared."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Library, assert_error

POLICY = "/v1/videos/vid-a/selection/transcript.segment"


def test_without_a_stored_policy_the_default_is_latest(
    client: TestClient, library: Library
) -> None:
    assert client.get(POLICY).json() == {
        "asset_id": "vid-a",
        "artifact_type": "transcript.segment",
        "stored": False,
        "selection_mode": "default",
        "preferred_profile": None,
        "pinned_run_id": None,
        "pinned_artifact_id": None,
        "effective": "latest",
        "selected_run_ids": [library.run_hq],
    }


def test_a_stored_policy_changes_what_readers_see(client: TestClient, library: Library) -> None:
    response = client.put(POLICY, json={"selection_mode": "profile", "preferred_profile": "fast"})
    assert response.status_code == 200, response.text
    stored = response.json()
    assert (stored["stored"], stored["selection_mode"], stored["effective"]) == (
        True,
        "profile",
        "profile",
    )
    assert stored["selected_run_ids"] == [library.run_fast]
    assert client.get(POLICY).json() == stored
    listed = client.get("/v1/videos/vid-a/artifacts", params={"type": "transcript.segment"})
    assert [a["artifact_id"] for a in listed.json()["artifacts"]] == list(library.transcript_fast)


@pytest.mark.parametrize(
    "body",
    [
        {"selection_mode": "pinned", "pinned_run_id": "run-fast"},
        {"selection_mode": "pinned", "pinned_artifact_id": "tf-0"},
        {"selection_mode": "best_quality"},
        {"selection_mode": "latest"},
    ],
)
def test_every_storable_mode_can_be_stored(
    client: TestClient, library: Library, body: dict[str, Any]
) -> None:
    response = client.put(POLICY, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["selection_mode"] == body["selection_mode"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"selection_mode": "all"}, "invalid_query"),
        ({"selection_mode": "default"}, "invalid_query"),
        ({"selection_mode": "pinned"}, "invalid_query"),
        ({"selection_mode": "pinned", "pinned_run_id": "no-such-run"}, "invalid_query"),
        ({"selection_mode": "pinned", "pinned_artifact_id": "ocr-1000"}, "invalid_query"),
        ({"selection_mode": "profile"}, "invalid_query"),
        ({"selection_mode": "latest", "preferred_profile": "fast"}, "invalid_query"),
        ({"selection_mode": "profile", "preferred_profile": "ultra"}, "invalid_input"),
        ({"selection_mode": "newest"}, "invalid_input"),
        ({"selection_mode": "latest", "extra": 1}, "invalid_input"),
        ({}, "invalid_input"),
    ],
)
def test_invalid_policies_are_400(
    client: TestClient, library: Library, body: dict[str, Any], code: str
) -> None:
    assert_error(client.put(POLICY, json=body), 400, code)
    assert client.get(POLICY).json()["stored"] is False


def test_policy_for_an_unregistered_type_is_400(client: TestClient, library: Library) -> None:
    response = client.put("/v1/videos/vid-a/selection/no.such", json={"selection_mode": "latest"})
    assert_error(response, 400, "schema_not_found")


def test_unknown_video_is_404_everywhere(client: TestClient) -> None:
    path = "/v1/videos/nope/selection/scene"
    assert_error(client.get(path), 404, "not_found")
    assert_error(client.put(path, json={"selection_mode": "latest"}), 404, "not_found")
    assert_error(client.delete(path), 404, "not_found")


def test_delete_clears_the_policy_and_is_idempotent(client: TestClient, library: Library) -> None:
    client.put(POLICY, json={"selection_mode": "profile", "preferred_profile": "fast"})
    assert client.delete(POLICY).status_code == 204
    assert client.get(POLICY).json()["stored"] is False
    assert client.delete(POLICY).status_code == 204
