"""The scenes stage with the real PySceneDetect on generated videos whose cuts are known."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from eioku.domain.profiles import ModelProfile
from eioku.domain.schemas.scene import SceneV1
from eioku.media import synthetic
from eioku.media.decode import iter_frames, probe
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import Finding
from eioku.pipeline.stages.scenes import ScenesStage
from tests.media import make_video

PROFILES = tuple(ModelProfile)


def _scenes(path: Path, profile: ModelProfile) -> list[Finding]:
    """Run the stage over ``path`` the way a run does: one decoding pass, every frame fed."""
    info = probe(path)
    stage = ScenesStage(profile, ModelLibrary(path.parent / "models"))
    stage.prepare()
    request = stage.frame_request(info)
    for frames in iter_frames(info, {stage.name: request}):
        stage.on_frame(frames[stage.name])
    return stage.finish(info)


def _assert_tiles_the_video(findings: list[Finding], duration_ms: int) -> None:
    assert findings[0].span_start_ms == 0
    assert findings[-1].span_end_ms == duration_ms
    for before, after in pairwise(findings):
        assert before.span_end_ms == after.span_start_ms
    for number, finding in enumerate(findings):
        scene = SceneV1.model_validate(finding.payload)
        assert scene.scene_index == number
        assert finding.span_start_ms < finding.span_end_ms


@pytest.fixture(scope="module")
def shots_video(tmp_path_factory: pytest.TempPathFactory) -> synthetic.SyntheticVideo:
    """Four shots of uneven length (cuts off the frame grid), one with motion and a caption."""
    shots = [
        synthetic.ShotSpec(1300, (200, 30, 30)),
        synthetic.ShotSpec(900, (30, 30, 200), caption="INVOICE", motion=True),
        synthetic.ShotSpec(2100, (240, 240, 240), face=True),
        synthetic.ShotSpec(1000, (20, 20, 20), colour_to=(30, 200, 30)),
    ]
    path = tmp_path_factory.mktemp("scenes") / "shots.mp4"
    return synthetic.make_video(path, shots=shots, size=(320, 240), fps=25)


@pytest.mark.parametrize("profile", PROFILES)
def test_shot_starts_match_the_cuts_within_one_frame(
    shots_video: synthetic.SyntheticVideo, profile: ModelProfile
) -> None:
    findings = _scenes(shots_video.path, profile)
    frame_ms = 1000 / shots_video.fps
    starts = [f.span_start_ms for f in findings[1:]]
    assert len(starts) == len(shots_video.cut_times_ms)
    for found, cut in zip(starts, shots_video.cut_times_ms, strict=True):
        assert abs(found - cut) <= frame_ms
    _assert_tiles_the_video(findings, probe(shots_video.path).duration_ms)


@pytest.mark.parametrize("profile", PROFILES)
def test_frame_number_is_the_first_frame_of_the_shot(
    shots_video: synthetic.SyntheticVideo, profile: ModelProfile
) -> None:
    findings = _scenes(shots_video.path, profile)
    for finding in findings:
        frame = finding.payload["frame_number"]
        assert frame * 1000 // shots_video.fps == finding.span_start_ms
    assert findings[0].payload["score"] == 0.0
    assert all(f.payload["score"] > 0 for f in findings[1:])


def test_one_colour_a_second_gives_a_shot_a_second(tmp_path: Path) -> None:
    path = make_video(tmp_path / "colours.mp4", seconds=5, fps=10)
    findings = _scenes(path, ModelProfile.FAST)
    assert [(f.span_start_ms, f.span_end_ms) for f in findings] == [
        (0, 1000),
        (1000, 2000),
        (2000, 3000),
        (3000, 4000),
        (4000, 5000),
    ]
    assert [f.payload["frame_number"] for f in findings] == [0, 10, 20, 30, 40]


def test_a_video_without_cuts_is_one_shot(tmp_path: Path) -> None:
    shots = [synthetic.ShotSpec(3000, (40, 90, 160), caption="HELLO", face=True, motion=True)]
    video = synthetic.make_video(tmp_path / "static.mp4", shots=shots, size=(320, 240), fps=25)
    for profile in PROFILES:
        findings = _scenes(video.path, profile)
        assert len(findings) == 1
        _assert_tiles_the_video(findings, probe(video.path).duration_ms)


def test_a_single_frame_video_is_one_shot(tmp_path: Path) -> None:
    path = make_video(tmp_path / "one.mp4", seconds=1, fps=1)
    info = probe(path)
    findings = _scenes(path, ModelProfile.BALANCED)
    assert len(findings) == 1
    assert findings[0].span_start_ms == 0
    assert findings[0].span_end_ms == max(info.duration_ms, 1000)
    assert findings[0].payload["frame_number"] == 0


def test_profiles_differ_in_frame_size_and_config(tmp_path: Path) -> None:
    library = ModelLibrary(tmp_path)
    stages = [ScenesStage(profile, library) for profile in PROFILES]
    info = probe(make_video(tmp_path / "v.mp4"))
    sides = [stage.frame_request(info).max_side for stage in stages]
    assert sides == sorted(sides)
    assert all(stage.frame_request(info).interval_ms == 0 for stage in stages)
    assert len({str(stage.config()) for stage in stages}) == len(stages)
