"""The run executor and ingest planning on both engines, with stand-in stages (see
tests/pipeline/standins.py: they are not engines) over real decoded media."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus, StageStatus
from eioku.domain.videos import VideoStatus
from eioku.pipeline import stages as stage_registry
from eioku.pipeline.ingest import discover, plan_run, register
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.runner import RunExecutor, StageOutcome
from eioku.storage.artifacts import SpanFilter
from eioku.storage.store import Store
from tests.media import make_audio, make_video
from tests.pipeline import standins


@pytest.fixture(autouse=True)
def _standins(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, target in standins.STANDINS.items():
        monkeypatch.setitem(stage_registry._STAGES, name, target)
    standins.HOOKS.clear()


@pytest.fixture
def models(tmp_path: Path) -> ModelLibrary:
    return ModelLibrary(tmp_path / "models")


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_video(tmp_path / "clip.mp4", seconds=3, fps=10, size=(96, 64))


def _run(store: Store, models: ModelLibrary, path: Path, *stages: str, **kw: Any) -> Any:
    video = register(store, path)
    profile = kw.pop("profile", ModelProfile.FAST)
    plan = plan_run(store, video, profile, stages, models, force=kw.pop("force", False))
    assert plan.run is not None
    return RunExecutor(store, models, **kw).execute(plan.run.run_id)


def _artifacts(store: Store, video_id: str, artifact_type: str) -> list[Any]:
    """Every artifact of the type, from every run (not only the selected one)."""
    with store.unit_of_work(write=False) as uow:
        return [
            artifact
            for run in uow.runs.list_for_video(video_id)
            for artifact in uow.artifacts.get_by_asset(
                video_id, SpanFilter(artifact_type=artifact_type, run_id=run.run_id)
            )
        ]


def test_a_run_stores_every_stage_with_provenance(
    store: Store, models: ModelLibrary, clip: Path
) -> None:
    outcome = _run(store, models, clip, "metadata", "test_marks")
    assert outcome.run.status is RunStatus.COMPLETED
    assert [s.status for s in outcome.run.stages] == [StageStatus.COMPLETED] * 2
    video_id = outcome.run.asset_id
    marks = _artifacts(store, video_id, "scene")
    assert [a.span_start_ms for a in marks] == [0, 500, 1000, 1500, 2000, 2500]
    stage = {s.stage: s for s in outcome.run.stages}["test_marks"]
    assert stage.artifact_count == 6
    with store.unit_of_work(write=False) as uow:
        video = uow.videos.get(video_id)
    assert video.status is VideoStatus.READY
    assert video.duration_ms == 3000
    for artifact in marks:
        assert artifact.run_id == outcome.run.run_id
        assert artifact.input_hash == video.file_hash == stage.input_hash
        assert artifact.config_hash == stage.config_hash
        assert artifact.model_profile is ModelProfile.FAST
        assert artifact.producer == "stand-in-marks"
    (meta,) = _artifacts(store, video_id, "video.metadata")
    assert meta.payload["width"] == 96
    assert meta.payload["duration_ms"] == 3000
    assert meta.producer == "pyav"


def test_reingest_is_a_no_op_unless_forced_and_profiles_coexist(
    store: Store, models: ModelLibrary, clip: Path
) -> None:
    first = _run(store, models, clip, "test_marks")
    video = register(store, clip)
    assert video.video_id == first.run.asset_id
    again = plan_run(store, video, ModelProfile.FAST, ("test_marks",), models)
    assert again.run is None
    assert again.up_to_date == ("test_marks",)
    forced = plan_run(store, video, ModelProfile.FAST, ("test_marks",), models, force=True)
    assert forced.run is not None
    other = _run(store, models, clip, "test_marks", profile=ModelProfile.HIGH_QUALITY)
    assert other.run.status is RunStatus.COMPLETED
    found = _artifacts(store, video.video_id, "scene")
    by_profile = {a.model_profile for a in found}
    assert by_profile == {ModelProfile.FAST, ModelProfile.HIGH_QUALITY}  # nothing overwritten
    assert len(found) == 12


def test_a_failing_stage_fails_the_run_but_keeps_the_others(
    store: Store, models: ModelLibrary, clip: Path
) -> None:
    outcome = _run(store, models, clip, "metadata", "test_marks", "test_exploding")
    assert outcome.run.status is RunStatus.FAILED
    states = {s.stage: s for s in outcome.run.stages}
    assert states["test_marks"].status is StageStatus.COMPLETED
    assert states["metadata"].status is StageStatus.COMPLETED
    assert states["test_exploding"].status is StageStatus.FAILED
    assert "stand-in engine crashed" in (states["test_exploding"].error or "")
    assert "test_exploding" in (outcome.run.error or "")
    marks = _artifacts(store, outcome.run.asset_id, "scene")
    assert {a.producer for a in marks} == {"stand-in-marks"}  # nothing from the failed stage


def test_an_invalid_payload_rolls_back_the_whole_stage_batch(
    store: Store, models: ModelLibrary, clip: Path
) -> None:
    outcome = _run(store, models, clip, "test_marks", "test_bad_batch")
    states = {s.stage: s for s in outcome.run.stages}
    assert states["test_bad_batch"].status is StageStatus.FAILED
    assert "scene_index" in (states["test_bad_batch"].error or "")
    assert states["test_marks"].status is StageStatus.COMPLETED
    assert len(_artifacts(store, outcome.run.asset_id, "scene")) == 6  # only test_marks'


def test_a_missing_model_skips_the_stage_with_its_message(
    store: Store, models: ModelLibrary, clip: Path
) -> None:
    outcome = _run(store, models, clip, "test_no_model", "test_marks")
    states = {s.stage: s for s in outcome.run.stages}
    assert states["test_no_model"].status is StageStatus.SKIPPED
    assert "put stand-in.onnx" in (states["test_no_model"].error or "")
    assert outcome.run.status is RunStatus.COMPLETED


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_bytes(b"not a video at all" * 50), "not a readable media file"),
        (make_audio, "not a video (audio only)"),
        (lambda p: p.write_bytes(make_video(p.with_name("full.mp4")).read_bytes()[:300]), ""),
    ],
    ids=["empty", "garbage", "audio-only", "truncated"],
)
def test_bad_files_fail_their_run_with_the_reason(
    store: Store, models: ModelLibrary, tmp_path: Path, make: Any, reason: str
) -> None:
    path = tmp_path / "bad.mp4"
    make(path)
    outcome = _run(store, models, path, "metadata", "test_marks")
    assert outcome.run.status is RunStatus.FAILED
    assert all(s.status is StageStatus.FAILED for s in outcome.run.stages)
    assert reason in (outcome.run.error or "")
    assert outcome.run.error
    with store.unit_of_work(write=False) as uow:
        assert uow.videos.get(outcome.run.asset_id).status is VideoStatus.FAILED


def test_audio_stage_runs_on_a_worker_thread_and_is_skipped_without_audio(
    store: Store, models: ModelLibrary, clip: Path, tmp_path: Path
) -> None:
    silent = _run(store, models, clip, "test_audio", "test_marks")
    states = {s.stage: s for s in silent.run.stages}
    assert states["test_audio"].status is StageStatus.SKIPPED
    assert "no audio track" in (states["test_audio"].error or "")
    from eioku.media.synthetic import ShotSpec
    from eioku.media.synthetic import make_video as make_av

    made = make_av(
        tmp_path / "talk.mp4",
        shots=[ShotSpec(2000, (200, 20, 20))],
        speech=[(100, "hello")],
        size=(160, 120),
        fps=10,
    )
    outcome = _run(store, models, made.path, "test_audio", "test_marks")
    assert outcome.run.status is RunStatus.COMPLETED
    (segment,) = _artifacts(store, outcome.run.asset_id, "transcript.segment")
    samples = int(segment.payload["text"].split()[0])
    assert 31_000 <= samples <= 34_000  # 2 s at 16 kHz (AAC pads to whole 1024-sample frames)
    assert standins.HOOKS["audio_threads"] == ["eioku-audio_0"]


class _Recorder:
    def __init__(self) -> None:
        self.finished: list[StageOutcome] = []

    def stage_progress(self, stage: str, fraction: float) -> None:
        assert 0.0 <= fraction <= 1.0

    def stage_finished(self, outcome: StageOutcome) -> None:
        self.finished.append(outcome)


@pytest.mark.parametrize("cancel_at_ms", [1000, 2500], ids=["mid-video", "last-frame"])
def test_cancel_and_ctrl_c_leave_a_cancelled_run_and_no_partial_batch(
    store: Store, models: ModelLibrary, clip: Path, cancel_at_ms: int
) -> None:
    # At the last frame the decoder is already done: the cancel must still win over the
    # batch the stage is about to store.
    cancel = threading.Event()
    standins.HOOKS["on_frame"] = lambda frame: (
        cancel.set() if frame.time_ms >= cancel_at_ms else None
    )
    outcome = _run(store, models, clip, "test_marks", cancel=cancel, observer=_Recorder())
    assert outcome.run.status is RunStatus.CANCELLED
    assert [s.status for s in outcome.run.stages] == [StageStatus.CANCELLED]
    assert _artifacts(store, outcome.run.asset_id, "scene") == []

    def interrupt(frame: Any) -> None:
        if frame.time_ms >= 1000:
            raise KeyboardInterrupt

    standins.HOOKS["on_frame"] = interrupt
    video = register(store, clip)
    plan = plan_run(store, video, ModelProfile.BALANCED, ("metadata", "test_marks"), models)
    assert plan.run is not None
    with pytest.raises(KeyboardInterrupt):
        RunExecutor(store, models).execute(plan.run.run_id)
    with store.unit_of_work(write=False) as uow:
        run = uow.runs.get(plan.run.run_id)
        assert uow.runs.unfinished() == []
    assert run.status is RunStatus.CANCELLED
    states = {s.stage: s.status for s in run.stages}
    assert states == {"metadata": StageStatus.COMPLETED, "test_marks": StageStatus.CANCELLED}
    marks = [a for a in _artifacts(store, video.video_id, "scene") if a.run_id == run.run_id]
    assert marks == []


def test_a_cancel_request_stored_elsewhere_stops_the_run(
    store: Store, models: ModelLibrary, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eioku.pipeline import runner

    monkeypatch.setattr(runner, "FLUSH_SECONDS", 0.0)
    video = register(store, clip)
    plan = plan_run(store, video, ModelProfile.FAST, ("test_marks",), models)
    assert plan.run is not None
    run_id = plan.run.run_id

    def cancel_via_database(frame: Any) -> None:
        if frame.time_ms == 1000:
            with store.unit_of_work() as uow:
                uow.runs.transition(run_id, RunStatus.CANCELLED)

    standins.HOOKS["on_frame"] = cancel_via_database
    outcome = RunExecutor(store, models).execute(run_id)
    assert outcome.run.status is RunStatus.CANCELLED
    assert _artifacts(store, video.video_id, "scene") == []


def test_discover_walks_folders_by_extension_case_insensitively(tmp_path: Path) -> None:
    (tmp_path / "a" / ".hidden").mkdir(parents=True)
    for name in ("a/x.MP4", "a/y.mkv", "a/notes.txt", "a/.hidden/z.mp4", "b.mov"):
        (tmp_path / name).write_bytes(b"x")
    files, missing = discover([tmp_path / "a", tmp_path / "b.mov", tmp_path / "nope"])
    assert [f.name for f in files] == ["x.MP4", "y.mkv", "b.mov"]
    assert missing == [f"{tmp_path / 'nope'}: no such file or folder"]


def test_a_file_that_vanished_before_its_run_fails_it_with_the_reason(
    store: Store, models: ModelLibrary, clip: Path
) -> None:
    video = register(store, clip)
    plan = plan_run(store, video, ModelProfile.FAST, ("metadata", "test_marks"), models)
    assert plan.run is not None
    clip.unlink()
    outcome = RunExecutor(store, models).execute(plan.run.run_id)
    assert outcome.run.status is RunStatus.FAILED
    assert "does not exist" in (outcome.run.error or "")


def test_a_frame_size_beyond_the_limit_is_refused_before_decoding(
    store: Store, models: ModelLibrary, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eioku.media import decode

    monkeypatch.setattr(decode, "MAX_PIXELS", 64 * 64)  # the clip is 96x64
    outcome = _run(store, models, clip, "metadata", "test_marks")
    assert outcome.run.status is RunStatus.FAILED
    assert "96x64 are larger than" in (outcome.run.error or "")
