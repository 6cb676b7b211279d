"""Heavy engines load only when their stage runs: the CLI and the API start without them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "faster_whisper",
    "ctranslate2",
    "dlib",
    "cv2",
    "onnxruntime",
    "rapidocr_onnxruntime",
    "scenedetect",
    "skimage",
)


def test_importing_the_entry_points_and_every_stage_loads_no_engine() -> None:
    code = (
        "import sys, eioku.cli, eioku.api.app\n"
        "from eioku.pipeline.stages import STAGE_NAMES, stage_class\n"
        "from eioku.domain.profiles import ModelProfile\n"
        "from eioku.pipeline.models import ModelLibrary\n"
        "from pathlib import Path\n"
        "for name in STAGE_NAMES:\n"
        "    stage = stage_class(name)(ModelProfile.BALANCED, ModelLibrary(Path('/nonexistent')))\n"
        "    stage.config(); stage.model_status()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
