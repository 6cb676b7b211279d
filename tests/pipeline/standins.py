"""Small stand-in stages for runner tests. They are NOT engines: they exercise the runner's
bookkeeping (isolation, atomic batches, cancellation) with outputs known in advance. The
real engines are tested in tests/unit/test_stage_*.py and tests/pipeline/test_real_media.py.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame
from eioku.pipeline.stage import AudioStage, Finding, FrameStage, Progress, StageUnavailable

REPO_ROOT = Path(__file__).resolve().parents[2]

# Per-test hooks: what the stand-ins do is steered by these module-level switches.
HOOKS: dict[str, Any] = {}


def scene_payload(index: int, frame: int) -> dict[str, Any]:
    """A valid scene payload."""
    return {"scene_index": index, "method": "stand-in", "score": 0.0, "frame_number": frame}


class FrameMarks(FrameStage):
    """One ``scene`` artifact per sampled frame (every 500 ms)."""

    name = "test_marks"
    artifact_type = "scene"

    @property
    def producer(self) -> str:
        return "stand-in-marks"

    @property
    def producer_version(self) -> str:
        return "1"

    def config(self) -> dict[str, Any]:
        return {"interval_ms": 500, "profile": self.profile.value}

    def frame_request(self, info: MediaInfo) -> FrameRequest:
        self.found: list[Finding] = []
        return FrameRequest(500, 64)

    def on_frame(self, frame: SampledFrame) -> None:
        hook = HOOKS.get("on_frame")
        if hook is not None:
            hook(frame)
        self.found.append(
            Finding(frame.time_ms, frame.time_ms, scene_payload(len(self.found), frame.index))
        )

    def finish(self, info: MediaInfo) -> list[Finding]:
        return self.found


class BadBatch(FrameMarks):
    """Like FrameMarks, but the third payload breaks the scene schema."""

    name = "test_bad_batch"

    def finish(self, info: MediaInfo) -> list[Finding]:
        found = list(self.found)
        bad = found[2]
        found[2] = Finding(bad.span_start_ms, bad.span_end_ms, {"scene_index": -5})
        return found


class Exploding(FrameMarks):
    """Raises on the second frame it is fed."""

    name = "test_exploding"

    def on_frame(self, frame: SampledFrame) -> None:
        if len(self.found) == 1:
            raise RuntimeError("stand-in engine crashed")
        super().on_frame(frame)


class NoModel(FrameMarks):
    """Its model is missing: prepare() refuses."""

    name = "test_no_model"

    def prepare(self) -> None:
        raise StageUnavailable("test_no_model: put stand-in.onnx into the model directory")


class AudioLength(AudioStage):
    """One transcript segment saying how many samples the audio track had."""

    name = "test_audio"
    artifact_type = "transcript.segment"

    @property
    def producer(self) -> str:
        return "stand-in-audio"

    @property
    def producer_version(self) -> str:
        return "1"

    def config(self) -> dict[str, Any]:
        return {}

    def run(self, audio: Any, progress: Progress) -> list[Finding]:
        seen = threading.current_thread().name
        HOOKS.setdefault("audio_threads", []).append(seen)
        progress(0.5)
        ms = len(audio) * 1000 // 16_000
        return [Finding(0, ms, {"text": f"{len(audio)} samples"})]


STANDINS = {
    cls.name: f"{__name__}:{cls.__name__}"
    for cls in (FrameMarks, BadBatch, Exploding, NoModel, AudioLength)
}


def write_plugin_site(directory: Path) -> str:
    """Declare the stand-ins as an ``eioku.stages`` plugin in ``directory``.

    Returns a PYTHONPATH for child processes (worker pools, ``eioku worker``): the folder
    holding the plugin's metadata, then the repository root (where ``tests`` lives).
    """
    info = directory / "eioku_standin_stages-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: eioku-standin-stages\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in STANDINS.items())
    (info / "entry_points.txt").write_text(f"[eioku.stages]\n{lines}", encoding="utf-8")
    return os.pathsep.join([str(directory), str(REPO_ROOT)])
