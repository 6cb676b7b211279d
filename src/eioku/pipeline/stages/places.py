"""The ``places`` stage: the kind of place a video shows, with a Places365 CNN in ONNX.

No package ships Places365 weights here: the stage reads an ONNX export of one of the
official Places365 PyTorch models from ``<model_dir>/places365/`` together with the
official category list ``categories_places365.txt`` (lines like ``/a/airfield 0``); without
both it is skipped with a message saying how to make them (docs/models.md).

Labels are the category names made readable: the ``/a/`` prefix is dropped, underscores
become spaces and a sub-category stays after a slash (``/a/airfield`` -> ``airfield``,
``/s/subway_station/platform`` -> ``subway station/platform``).

A place rarely changes from one second to the next, so frames are sampled sparsely (every
5 s, 3 s or 2 s by profile), and a sampled frame that did not change visibly since the last
classified one is not classified again. Consecutive samples with the same top label become
one artifact, spanning from the first of them to the first sample with another label (or
the end of the video), carrying the most confident sample's scores. Samples whose top label
is less likely than ``min_confidence`` produce nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eioku.domain.profiles import ModelProfile
from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame
from eioku.pipeline.models import ModelStatus
from eioku.pipeline.stage import Finding, FrameStage, StageUnavailable
from eioku.pipeline.stages import _onnx

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt

    from eioku.pipeline.models import ModelLibrary

logger = logging.getLogger(__name__)

MODEL_FOLDER = "places365"
MODEL_FILES: tuple[str, ...] = (
    "resnet18_places365.onnx",
    "wideresnet18_places365.onnx",
    "resnet50_places365.onnx",
    "densenet161_places365.onnx",
)
"""The official Places365 models, smallest first."""
CATEGORIES_FILE = "categories_places365.txt"
INPUT_SIDE = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
"""ImageNet normalisation, which the Places365 models were trained with."""
FRAME_SIDE = 320
"""Longest side of the frames the stage asks the decoder for (it classifies at 224)."""


def convert_hint(folder: Path) -> str:
    """How to make the model file, for messages."""
    return (
        "convert the official Places365 PyTorch weights (resnet18_places365.pth.tar) to "
        f"resnet18_places365.onnx with torch.onnx.export and copy it into {folder} with "
        f"{CATEGORIES_FILE} (see docs/models.md)"
    )


@dataclass(frozen=True, slots=True)
class _Tier:
    """What a profile asks for."""

    models: tuple[str, ...]
    interval_ms: int
    change_threshold: float
    min_confidence: float = 0.1
    top_k: int = 5


_TIERS: dict[ModelProfile, _Tier] = {
    ModelProfile.FAST: _Tier(MODEL_FILES, 5000, change_threshold=12.0),
    ModelProfile.BALANCED: _Tier(MODEL_FILES, 3000, change_threshold=8.0),
    ModelProfile.HIGH_QUALITY: _Tier(
        (MODEL_FILES[2], MODEL_FILES[1], MODEL_FILES[0], MODEL_FILES[3]),
        2000,
        change_threshold=4.0,
    ),
}


def clean_category(raw: str) -> str:
    """A readable label from an official category name (``/a/air_base`` -> ``air base``)."""
    name = raw.strip()
    if len(name) > 3 and name[0] == "/" and name[2] == "/":
        name = name[3:]
    return name.strip("/").replace("_", " ")


def parse_categories(text: str) -> tuple[str, ...]:
    """The labels of a ``categories_places365.txt``, in class-index order.

    Each line is a category name and its index; a line without an index takes its line
    position.

    Raises:
        ValueError: indices repeat or leave gaps.
    """
    labels: dict[int, str] = {}
    for position, line in enumerate(line for line in text.splitlines() if line.strip()):
        name, _, index = line.strip().rpartition(" ")
        if not name or not index.isdigit():
            name, index = line.strip(), str(position)
        if int(index) in labels:
            raise ValueError(f"category index {index} appears twice")
        labels[int(index)] = clean_category(name)
    if sorted(labels) != list(range(len(labels))):
        raise ValueError("category indices are not 0..n-1")
    return tuple(labels[i] for i in range(len(labels)))


def preprocess(image: npt.NDArray[np.uint8], height: int, width: int) -> npt.NDArray[np.float32]:
    """A 1x3xHxW ImageNet-normalised float32 tensor from an RGB frame.

    The frame is stretched to the input size, as the official Places365 demo does.
    """
    import numpy as np

    resized = _onnx.resize(image, width, height).astype(np.float32) / np.float32(255.0)
    normalised = (resized - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)


def probabilities(output: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Class probabilities from a model's output.

    Logits go through a softmax; an output that already sums to one is kept as it is.
    """
    import numpy as np

    values = np.asarray(output, dtype=np.float32).reshape(-1)
    if values.min() >= 0.0 and abs(float(values.sum()) - 1.0) < 1e-3:
        return values
    return _onnx.softmax(values)


@dataclass(slots=True)
class _Run:
    """Consecutive samples that agree on the top label."""

    label: str
    start_ms: int
    confidence: float
    alternatives: list[dict[str, Any]]
    frame_number: int
    end_ms: int | None = None


class PlacesStage(FrameStage):
    """Places365 scene classification on sparse frames, one artifact per stretch of place."""

    name = "places"
    artifact_type = "place.classification"

    def __init__(self, profile: ModelProfile, models: ModelLibrary) -> None:
        super().__init__(profile, models)
        self.tier = _TIERS[profile]
        self.model_path = self._resolve()
        self.categories_path = self.models.find(f"{MODEL_FOLDER}/{CATEGORIES_FILE}")
        self.classified_frames = 0
        """How many frames went through the model (unchanged frames are skipped)."""
        self._session: Any = None
        self._input_name = ""
        self._labels: tuple[str, ...] = ()
        self._hw = (INPUT_SIDE, INPUT_SIDE)
        self._gate = _onnx.ChangeGate(self.tier.change_threshold, statistic="mean")
        self._runs: list[_Run] = []
        self._last_ms: int | None = None

    def _resolve(self) -> Path | None:
        return self.models.find(*(f"{MODEL_FOLDER}/{name}" for name in self.tier.models))

    @property
    def producer(self) -> str:
        return "places365"

    @property
    def producer_version(self) -> str:
        return _onnx.producer_version(self.model_path)

    def config(self) -> dict[str, Any]:
        tier = self.tier
        path, categories = self.model_path, self.categories_path
        return {
            "model": None if path is None else f"{MODEL_FOLDER}/{path.name}",
            "model_sha256": None if path is None else _onnx.file_digest(path),
            "categories_sha256": None if categories is None else _onnx.file_digest(categories),
            "preferred_model": tier.models[0],
            "interval_ms": tier.interval_ms,
            "change_threshold": tier.change_threshold,
            "min_confidence": tier.min_confidence,
            "top_k": tier.top_k,
        }

    def model_status(self) -> Sequence[ModelStatus]:
        folder = self.models.root / MODEL_FOLDER
        preferred = self.tier.models[0]
        found = self.models.find(f"{MODEL_FOLDER}/{preferred}")
        rows = []
        if found is not None:
            rows.append(ModelStatus(self.name, preferred, str(found)))
        elif self.model_path is None:
            rows.append(ModelStatus(self.name, preferred, None, convert_hint(folder)))
        else:
            used = f"put {preferred} in {folder}; meanwhile {self.model_path.name} is used"
            rows.append(ModelStatus(self.name, preferred, None, used))
            rows.append(
                ModelStatus(
                    self.name, f"{self.model_path.name} (used instead)", str(self.model_path)
                )
            )
        categories = self.categories_path
        hint = f"needed with any Places365 model; put it in {folder} (see docs/models.md)"
        where = None if categories is None else str(categories)
        rows.append(ModelStatus(self.name, CATEGORIES_FILE, where, "" if where else hint))
        return rows

    def prepare(self) -> None:
        if self._session is not None:
            return
        folder = self.models.root / MODEL_FOLDER
        if self.model_path is None:
            raise StageUnavailable(f"places: no Places365 ONNX model; {convert_hint(folder)}")
        if self.categories_path is None:
            raise StageUnavailable(
                f"places: {CATEGORIES_FILE} is missing from {folder}; it comes with the "
                "official Places365 release, one line per class like '/a/airfield 0' "
                "(see docs/models.md)"
            )
        try:
            labels = parse_categories(self.categories_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise StageUnavailable(f"places: cannot read {self.categories_path}: {exc}") from None
        session = _onnx.create_session(self.model_path, self.name)
        classes = session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(labels):
            raise StageUnavailable(
                f"places: {self.model_path.name} gives {classes} classes but "
                f"{CATEGORIES_FILE} lists {len(labels)}; use the matching pair (docs/models.md)"
            )
        self._hw = _onnx.static_hw(session, INPUT_SIDE)
        self._input_name = session.get_inputs()[0].name
        self._labels = labels
        self._session = session

    def frame_request(self, info: MediaInfo) -> FrameRequest:
        return FrameRequest(self.tier.interval_ms, max_side=FRAME_SIDE)

    def classify(self, image: npt.NDArray[np.uint8]) -> list[tuple[str, float]]:
        """The ``top_k`` most likely places of an RGB frame, most likely first."""
        import numpy as np

        if self._session is None:
            raise RuntimeError("places: prepare() was not called")
        tensor = preprocess(image, *self._hw)
        (output,) = self._session.run(None, {self._input_name: tensor})[:1]
        probs = probabilities(output)
        if probs.shape[0] != len(self._labels):
            raise StageUnavailable(
                f"places: the model gives {probs.shape[0]} classes but {CATEGORIES_FILE} "
                f"lists {len(self._labels)}"
            )
        self.classified_frames += 1
        top = np.argsort(-probs, kind="stable")[: self.tier.top_k]
        return [(self._labels[int(i)], float(probs[int(i)])) for i in top]

    def on_frame(self, frame: SampledFrame) -> None:
        self._last_ms = frame.time_ms
        if not self._gate.changed(frame.image):
            return  # the same view: the current stretch (or the lack of one) continues
        ranked = self.classify(frame.image)
        label, confidence = ranked[0]
        sure = confidence >= self.tier.min_confidence
        current = self._runs[-1] if self._runs and self._runs[-1].end_ms is None else None
        if current is not None and current.label == label and sure:
            if confidence > current.confidence:
                current.confidence, current.frame_number = confidence, frame.index
                current.alternatives = _alternatives(ranked)
            return
        if current is not None:
            current.end_ms = frame.time_ms
        if sure:
            self._runs.append(
                _Run(label, frame.time_ms, confidence, _alternatives(ranked), frame.index)
            )

    def finish(self, info: MediaInfo) -> list[Finding]:
        last = self._last_ms or 0
        close = max(last, min(last + self.tier.interval_ms, info.duration_ms))
        findings = []
        for run in self._runs:
            end = run.end_ms if run.end_ms is not None else close
            payload = {
                "label": run.label,
                "confidence": round(run.confidence, 4),
                "alternative_labels": run.alternatives,
                "frame_number": run.frame_number,
            }
            findings.append(Finding(run.start_ms, max(run.start_ms, end), payload))
        return findings


def _alternatives(ranked: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"label": label, "confidence": round(score, 4)} for label, score in ranked[1:]]
