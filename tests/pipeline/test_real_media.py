"""The whole pipeline with the real engines on generated media whose content is known:
speech made with eSpeak NG, captions drawn on frames, hard cuts and a real face photo
(tests for each engine alone are in tests/unit/test_stage_*.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eioku.cli import app
from eioku.media.synthetic import ShotSpec, SyntheticVideo, make_video
from eioku.storage.artifacts import SpanFilter
from eioku.storage.store import Store
from tests.api.conftest import url_of

FPS = 25
SIZE = (640, 360)


def _story(first_caption: str) -> tuple[list[ShotSpec], list[tuple[int, str]]]:
    shots = [
        ShotSpec(3000, (20, 40, 160), caption=first_caption),
        ShotSpec(3000, (235, 235, 235), face=True),
        ShotSpec(3000, (160, 30, 30), caption="DOG PARK"),
    ]
    speech = [(300, "Please send the invoice today."), (6300, "The dog is in the garden.")]
    return shots, speech


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticVideo, SyntheticVideo]:
    folder = tmp_path_factory.mktemp("media")
    first = make_video(
        folder / "one.mp4",
        shots=_story("INVOICE 2024")[0],
        speech=_story("")[1],
        size=SIZE,
        fps=FPS,
    )
    shots, speech = _story("BUDGET MEETING")
    second = make_video(folder / "two.mp4", shots=shots, speech=speech[:1], size=SIZE, fps=FPS)
    return first, second


def _of(store: Store, video_id: str, artifact_type: str) -> list[Any]:
    with store.unit_of_work(write=False) as uow:
        return uow.artifacts.get_by_asset(video_id, SpanFilter(artifact_type=artifact_type))


def _video_id(store: Store, path: Path) -> str:
    with store.unit_of_work(write=False) as uow:
        (found,) = [v for v in uow.videos.list() if v.path == str(path.resolve())]
    return found.video_id


def test_ingest_finds_speech_cuts_text_and_the_same_face_in_two_videos(
    store: Store,
    videos: tuple[SyntheticVideo, SyntheticVideo],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EIOKU_MODEL_DIR", str(tmp_path / "models"))  # no YOLO/Places here
    # In-process on both engines (PostgreSQL would queue for workers: test_workers.py).
    monkeypatch.setenv("EIOKU_EXECUTOR", "local")
    first, second = videos
    args = ["--database-url", url_of(store), "ingest", str(first.path), str(second.path)]
    result = CliRunner().invoke(app, [*args, "--profile", "fast"])
    assert result.exit_code == 0, result.output
    assert "2 videos: 2 processed" in result.stdout
    one, two = _video_id(store, first.path), _video_id(store, second.path)

    words = " ".join(a.payload["text"] for a in _of(store, one, "transcript.segment")).lower()
    for word in ("invoice", "dog", "garden"):
        assert word in words, words

    starts = [a.span_start_ms for a in _of(store, one, "scene")]
    frame_ms = 1000 / FPS
    assert len(starts) == len(first.shots)
    for found, cut in zip(starts[1:], first.cut_times_ms, strict=True):
        assert abs(found - cut) <= frame_ms, (starts, first.cut_times_ms)

    texts = _of(store, one, "ocr.text")
    read = [re.sub(r"\W", "", a.payload["text"]).upper() for a in texts]
    assert any("INVOICE2024" in t for t in read), read
    invoice = next(a for a, t in zip(texts, read, strict=True) if "INVOICE" in t)
    assert invoice.span_start_ms < 1000
    assert 2000 <= invoice.span_end_ms <= 4000  # one artifact for the time it is on screen
    assert any("DOGPARK" in t for t in read), read

    faces_one = _of(store, one, "face.detection")
    faces_two = _of(store, two, "face.detection")
    assert faces_one, "the face shot has a face"
    assert faces_two
    assert all(3000 <= a.span_start_ms < 6000 for a in faces_one)
    clusters = {a.payload["cluster_id"] for a in faces_one + faces_two}
    assert len(clusters) == 1  # the same person in both videos

    (meta,) = _of(store, one, "video.metadata")
    assert (meta.payload["width"], meta.payload["height"]) == SIZE
    assert "skipped objects" in result.stdout
    assert "places" in result.stdout

    again = CliRunner().invoke(app, [*args, "--profile", "fast"])
    assert again.exit_code == 0, again.output
    assert again.stdout.count("up to date") == 2 + 1  # two rows and the closing line
    assert "completed" not in again.stdout
