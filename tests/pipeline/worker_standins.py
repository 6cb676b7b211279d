"""Stand-in stages for the worker tests (tests/pipeline/test_workers.py). They are NOT
engines: they make a worker process slow, observable or crash on purpose, steered by
environment variables the test gives to the ``eioku worker`` processes it starts.

- ``test_slow``: like ``test_marks`` (one ``scene`` per 500 ms), sleeping
  ``EIOKU_TEST_SLOW_SECONDS`` per frame; on its first frame it writes
  ``<EIOKU_TEST_MARKS>/started-<pid>`` so the test knows which worker is mid-stage.
- ``test_crash``: kills its own process with SIGKILL on the first frame (a poison job:
  a native crash, an OOM kill).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from eioku.media.decode import SampledFrame
from tests.pipeline.standins import STANDINS, FrameMarks


class SlowMarks(FrameMarks):
    """FrameMarks, slowly; announces that it started."""

    name = "test_slow"

    def on_frame(self, frame: SampledFrame) -> None:
        marks = os.environ.get("EIOKU_TEST_MARKS")
        if marks and not self.found:
            Path(marks, f"started-{os.getpid()}").write_text(str(frame.index), encoding="utf-8")
        time.sleep(float(os.environ.get("EIOKU_TEST_SLOW_SECONDS", "0.2")))
        super().on_frame(frame)


class Crash(FrameMarks):
    """Kills the process it runs in on its first frame."""

    name = "test_crash"

    def on_frame(self, frame: SampledFrame) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


WORKER_STANDINS = {
    **STANDINS,
    **{cls.name: f"{__name__}:{cls.__name__}" for cls in (SlowMarks, Crash)},
}


def write_worker_plugin_site(directory: Path) -> str:
    """Declare every stand-in as an ``eioku.stages`` plugin; returns a PYTHONPATH for workers."""
    info = directory / "eioku_worker_standins-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: eioku-worker-standins\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in WORKER_STANDINS.items())
    (info / "entry_points.txt").write_text(f"[eioku.stages]\n{lines}", encoding="utf-8")
    repo = Path(__file__).resolve().parents[2]
    return os.pathsep.join([str(directory), str(repo)])
