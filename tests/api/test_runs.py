"""Runs: a video's runs, one run with its stages, cancellation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from eioku.domain.runs import RunStatus, StageStatus
from eioku.storage.store import Store
from tests.api.conftest import Library, assert_error
from tests.factories import later, make_run


def test_a_videos_runs_newest_first_with_stages(client: TestClient, library: Library) -> None:
    body = client.get(f"/v1/videos/{library.video_a}/runs").json()
    assert body["video_id"] == library.video_a
    assert [run["run_id"] for run in body["runs"]] == [library.run_hq, library.run_fast]
    assert [stage["stage"] for stage in body["runs"][0]["stages"]] == ["transcribe", "ocr"]
    assert client.get(f"/v1/videos/{library.video_b}/runs").json()["runs"] == []


def test_one_run_shows_per_stage_status_progress_and_error(
    client: TestClient, library: Library, store: Store
) -> None:
    with store.unit_of_work() as uow:
        uow.runs.set_stage(library.run_hq, "transcribe", StageStatus.RUNNING, progress=0.25)
        uow.runs.set_stage(library.run_hq, "ocr", StageStatus.FAILED, error="no model")
    run = client.get(f"/v1/runs/{library.run_hq}").json()
    assert run["run_id"] == library.run_hq
    assert run["asset_id"] == library.video_a
    assert run["pipeline_profile"] == "high_quality"
    transcribe, ocr = run["stages"]
    assert (transcribe["status"], transcribe["progress"]) == ("running", 0.25)
    assert transcribe["started_at"].endswith("+00:00")
    assert (ocr["status"], ocr["error"]) == ("failed", "no model")


def test_unknown_runs_and_videos_are_404(client: TestClient) -> None:
    assert_error(client.get("/v1/runs/nope"), 404, "not_found")
    assert_error(client.get("/v1/videos/nope/runs"), 404, "not_found")
    assert_error(client.post("/v1/runs/nope/cancel"), 404, "not_found")


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
def test_cancel_stops_a_live_run_and_its_unfinished_stages(
    client: TestClient, store: Store, library: Library, status: RunStatus
) -> None:
    run = make_run(library.video_b, run_id="live", stages=("scenes", "ocr"), status=status)
    with store.unit_of_work() as uow:
        uow.runs.create(run)
        uow.runs.set_stage("live", "scenes", StageStatus.COMPLETED)
    response = client.post("/v1/runs/live/cancel")
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["finished_at"] is not None
    assert [(s["stage"], s["status"]) for s in cancelled["stages"]] == [
        ("scenes", "completed"),
        ("ocr", "cancelled"),
    ]
    assert client.get("/v1/runs/live").json()["status"] == "cancelled"


@pytest.mark.parametrize("status", [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED])
def test_cancelling_a_finished_run_is_409(
    client: TestClient, store: Store, library: Library, status: RunStatus
) -> None:
    run = make_run(library.video_b, run_id="done", started_at=later(3), status=status)
    with store.unit_of_work() as uow:
        uow.runs.create(run)
    body = assert_error(client.post("/v1/runs/done/cancel"), 409, "run_state_error")
    assert body["details"] == {"from": status.value, "to": "cancelled"}
    assert client.get("/v1/runs/done").json()["status"] == status.value
