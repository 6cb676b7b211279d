"""Transcript as WebVTT/SRT and OCR as a WebVTT metadata track, under the selection policy."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from eioku.domain.profiles import ModelProfile
from eioku.media.subtitles import srt_timestamp, vtt_timestamp
from eioku.storage.store import Store
from tests.api.conftest import Library, assert_error
from tests.factories import later, make_artifact, make_run, make_video


@pytest.fixture
def spoken(store: Store) -> str:
    """A video whose transcript needs escaping, and a long time, and an older fast run."""
    video = make_video("vid-talk")
    old = make_run("vid-talk", profile=ModelProfile.FAST, run_id="old", started_at=later(1))
    new = make_run("vid-talk", run_id="new", started_at=later(2))
    segments = [
        make_artifact(new, start=3_723_004, end=3_725_000, artifact_id="s2",
                      payload={"text": "line one\n\nline two"}),
        make_artifact(new, start=0, end=1500, artifact_id="s1",
                      payload={"text": "Tom & <Jerry> --> run", "speaker": "Ann"}),
        make_artifact(old, start=0, end=900, artifact_id="s0", payload={"text": "stale"}),
    ]  # fmt: skip
    with store.unit_of_work() as uow:
        uow.videos.add(video)
        uow.runs.create(old)
        uow.runs.create(new)
        uow.artifacts.batch_create(segments)
    return "vid-talk"


def test_transcript_vtt_escapes_text_and_uses_voices(client: TestClient, spoken: str) -> None:
    response = client.get(f"/v1/videos/{spoken}/transcript.vtt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/vtt; charset=utf-8"
    assert response.text == (
        "WEBVTT\n\n"
        "s1\n00:00:00.000 --> 00:00:01.500\n<v Ann>Tom &amp; &lt;Jerry&gt; --&gt; run\n\n"
        "s2\n01:02:03.004 --> 01:02:05.000\nline one\nline two\n"
    )


def test_transcript_srt_numbers_cues_with_comma_times(client: TestClient, spoken: str) -> None:
    response = client.get(f"/v1/videos/{spoken}/transcript.srt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-subrip; charset=utf-8"
    assert response.text == (
        "1\n00:00:00,000 --> 00:00:01,500\nTom & <Jerry> --> run\n\n"
        "2\n01:02:03,004 --> 01:02:05,000\nline one\nline two\n\n"
    )


def test_exports_apply_the_selection_policy(client: TestClient, spoken: str) -> None:
    response = client.get(f"/v1/videos/{spoken}/transcript.srt", params={"profile": "fast"})
    assert response.text == "1\n00:00:00,000 --> 00:00:00,900\nstale\n\n"
    pinned = {"selection": "pinned", "pinned_run_id": "old"}
    assert "stale" in client.get(f"/v1/videos/{spoken}/transcript.vtt", params=pinned).text


def test_ocr_track_carries_json_cue_payloads(client: TestClient, library: Library) -> None:
    response = client.get(f"/v1/videos/{library.video_a}/ocr.vtt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/vtt; charset=utf-8"
    blocks = response.text.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    cue_id, timing, payload = blocks[1].split("\n")
    assert (cue_id, timing) == ("ocr-1000", "00:00:01.000 --> 00:00:02.000")
    assert json.loads(payload) == {
        "text": "invoice 1000",
        "confidence": 0.88,
        "bounding_box": [{"x": 0.0, "y": 0.0}, {"x": 10.0, "y": 0.0}, {"x": 10.0, "y": 5.0}],
    }
    assert len(blocks) == 3


def test_a_video_without_transcript_exports_an_empty_file(
    client: TestClient, library: Library
) -> None:
    assert client.get(f"/v1/videos/{library.video_b}/transcript.vtt").text == "WEBVTT\n"
    assert client.get(f"/v1/videos/{library.video_b}/transcript.srt").text == ""


@pytest.mark.parametrize("name", ["transcript.vtt", "transcript.srt", "ocr.vtt"])
def test_exports_of_unknown_videos_are_404(client: TestClient, name: str) -> None:
    assert_error(client.get(f"/v1/videos/nope/{name}"), 404, "not_found")


@pytest.mark.parametrize("name", ["transcript.vtt", "transcript.srt", "ocr.vtt"])
def test_exports_reject_bad_selection(client: TestClient, library: Library, name: str) -> None:
    path = f"/v1/videos/{library.video_a}/{name}"
    assert_error(client.get(path, params={"selection": "pinned"}), 400, "invalid_query")


@pytest.mark.parametrize(
    ("ms", "vtt", "srt"),
    [
        (0, "00:00:00.000", "00:00:00,000"),
        (59_999, "00:00:59.999", "00:00:59,999"),
        (3_600_000, "01:00:00.000", "01:00:00,000"),
        (360_000_000, "100:00:00.000", "100:00:00,000"),
    ],
)
def test_timestamps(ms: int, vtt: str, srt: str) -> None:
    assert vtt_timestamp(ms) == vtt
    assert srt_timestamp(ms) == srt
