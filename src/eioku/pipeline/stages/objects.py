"""The ``objects`` stage: COCO object detection with a YOLO model exported to ONNX.

No package ships COCO detector weights here, so the stage reads a standard Ultralytics
ONNX export (YOLOv8 or YOLO11; output ``[1, 4 + classes, anchors]``: box centre, size and
one score per class) from ``<model_dir>/yolo/``; without one it is skipped with a message
saying how to make one (docs/models.md).

Profiles prefer a model size and fall back to whichever other size is present, smaller
first: ``fast`` n, ``balanced`` s, ``high_quality`` m. :meth:`ObjectsStage.config` names the
file actually used and its hash. Frames are letterboxed to the model's input size (640 for
the standard export), detections are filtered by confidence and per-class non-maximum
suppression in numpy, and boxes are mapped back to source-frame pixels.

An object that stays in view becomes one artifact, not one per sampled frame: a detection
continues a track of the same class in the previous sampled frame when their boxes overlap
(IoU >= ``track_iou``). The artifact spans from the first sample showing it to the first
sample no longer showing it (or the end of the video) and carries its most confident
observation (box, confidence, frame). Frames that did not change visibly since the last
inferred one are not run through the model again: the tracks just continue.
"""

from __future__ import annotations

import ast
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

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip
"""The 80 COCO classes in the order YOLO models trained on COCO number them."""

MODEL_FOLDER = "yolo"
MODEL_FILES: dict[str, tuple[str, ...]] = {
    "n": ("yolo11n.onnx", "yolov8n.onnx"),
    "s": ("yolo11s.onnx", "yolov8s.onnx"),
    "m": ("yolo11m.onnx", "yolov8m.onnx"),
}
"""File names looked up in ``<model_dir>/yolo`` per model size, preferred first."""
DEFAULT_INPUT = 640
"""Input side used when the model's input size is dynamic."""


def export_hint(size: str) -> str:
    """How to make the model file of ``size`` (n, s or m)."""
    return (
        f"export one with `pip install ultralytics && yolo export model=yolov8{size}.pt "
        f"format=onnx` (on any machine with internet) and copy yolov8{size}.onnx there "
        "(see docs/models.md)"
    )


@dataclass(frozen=True, slots=True)
class _Tier:
    """What a profile asks for."""

    sizes: tuple[str, ...]
    interval_ms: int
    confidence: float
    change_threshold: float
    iou: float = 0.45
    max_detections: int = 100
    track_iou: float = 0.5


_TIERS: dict[ModelProfile, _Tier] = {
    ModelProfile.FAST: _Tier(("n", "s", "m"), 1000, 0.35, change_threshold=16.0),
    ModelProfile.BALANCED: _Tier(("s", "n", "m"), 1000, 0.30, change_threshold=10.0),
    ModelProfile.HIGH_QUALITY: _Tier(("m", "s", "n"), 500, 0.25, change_threshold=6.0),
}


def nms(
    boxes: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    iou_threshold: float,
    limit: int | None = None,
) -> npt.NDArray[np.intp]:
    """Greedy non-maximum suppression.

    Args:
        boxes: Nx4 corners (x1, y1, x2, y2).
        scores: N confidences.
        iou_threshold: a box overlapping a kept, higher-scored box by more than this is
            dropped.
        limit: stop once this many boxes are kept (the rest would be cut anyway).

    Returns:
        Indices of the kept boxes, highest score first.
    """
    import numpy as np

    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and (limit is None or len(keep) < limit):
        best, rest = int(order[0]), order[1:]
        keep.append(best)
        width = (np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest])).clip(0)
        height = (np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest])).clip(0)
        inter = width * height
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.intp)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Detections:
    """Boxes (x1, y1, x2, y2), confidences and class ids, highest confidence first."""

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    classes: npt.NDArray[np.intp]


def decode_yolo(
    output: npt.NDArray[np.float32],
    num_classes: int,
    confidence: float,
    iou: float,
    max_detections: int,
) -> Detections:
    """Detections from a YOLOv8/YOLO11 head: threshold, then per-class NMS.

    Args:
        output: ``[1, 4 + num_classes, anchors]`` (or its transpose ``[1, anchors, ...]``)
            with rows cx, cy, w, h in model-input pixels, then one score per class.
        num_classes: how many class scores follow the box.
        confidence: lowest score kept.
        iou: NMS overlap threshold, applied within each class.
        max_detections: most detections kept.
    """
    import numpy as np

    pred = np.asarray(output, dtype=np.float32)[0]
    width = 4 + num_classes
    if pred.shape[0] != width and pred.shape[1] == width:
        pred = pred.T
    if pred.shape[0] != width:
        raise ValueError(f"expected {width} rows per anchor, the model gives {pred.shape[0]}")
    mask = pred[4:].max(axis=0) >= confidence
    candidates = pred[:, mask]
    classes = candidates[4:].argmax(axis=0)
    scores = candidates[4 + classes, np.arange(candidates.shape[1])]
    cx, cy, w, h = candidates[:4]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    # Shifting each class's boxes apart by more than their extent makes one NMS pass act
    # per class.
    extent = float(boxes.max() - boxes.min()) + 1.0 if boxes.size else 0.0
    offset = extent * classes[:, None].astype(np.float32)
    keep = nms(boxes + offset, scores, iou, limit=max_detections)
    return Detections(boxes[keep], scores[keep], classes[keep].astype(np.intp))


def class_names(metadata: dict[str, str], num_classes: int) -> tuple[str, ...] | None:
    """Class names from an Ultralytics export's ``names`` metadata, else COCO's when 80."""
    raw = metadata.get("names")
    if raw:
        try:  # a Python dict literal such as "{0: 'person', 1: 'bicycle'}"
            parsed = ast.literal_eval(raw)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            parsed = None
        if isinstance(parsed, dict) and set(parsed) == set(range(num_classes)):
            return tuple(str(parsed[i]) for i in range(num_classes))
    return COCO_CLASSES if num_classes == len(COCO_CLASSES) else None


@dataclass(slots=True)
class _Track:
    """One object followed across consecutive sampled frames."""

    class_id: int
    box: tuple[float, float, float, float]
    start_ms: int
    confidence: float
    best_box: tuple[float, float, float, float]
    frame_number: int
    end_ms: int | None = None

    def see(self, box: tuple[float, float, float, float], score: float, frame: int) -> None:
        self.box = box
        if score > self.confidence:
            self.confidence, self.best_box, self.frame_number = score, box, frame


@dataclass(slots=True)
class _Engine:
    """A loaded model and what the stage learned from it."""

    session: Any
    input_name: str
    height: int
    width: int
    names: tuple[str, ...] | None
    metadata: dict[str, str]
    buffer: npt.NDArray[np.float32] | None = None


class ObjectsStage(FrameStage):
    """YOLO object detection (COCO classes) on sampled frames, one artifact per tracked object."""

    name = "objects"
    artifact_type = "object.detection"

    def __init__(self, profile: ModelProfile, models: ModelLibrary) -> None:
        super().__init__(profile, models)
        self.tier = _TIERS[profile]
        self.model_path, self.model_size = self._resolve()
        self.inferred_frames = 0
        """How many frames went through the model (unchanged frames are skipped)."""
        self._engine: _Engine | None = None
        self._gate = _onnx.ChangeGate(self.tier.change_threshold, statistic="max")
        self._tracks: list[_Track] = []
        self._last_ms: int | None = None
        self._source: tuple[int, int] | None = None

    def _resolve(self) -> tuple[Path | None, str | None]:
        for size in self.tier.sizes:
            found = self.models.find(*(f"{MODEL_FOLDER}/{f}" for f in MODEL_FILES[size]))
            if found is not None:
                return found, size
        return None, None

    @property
    def producer(self) -> str:
        return "yolo"

    @property
    def producer_version(self) -> str:
        return _onnx.producer_version(self.model_path)

    def config(self) -> dict[str, Any]:
        tier = self.tier
        path = self.model_path
        return {
            "model": None if path is None else f"{MODEL_FOLDER}/{path.name}",
            "model_sha256": None if path is None else _onnx.file_digest(path),
            "preferred_size": tier.sizes[0],
            "interval_ms": tier.interval_ms,
            "confidence": tier.confidence,
            "iou": tier.iou,
            "max_detections": tier.max_detections,
            "change_threshold": tier.change_threshold,
            "track_iou": tier.track_iou,
            "dynamic_input_size": DEFAULT_INPUT,
        }

    def model_status(self) -> Sequence[ModelStatus]:
        folder = self.models.root / MODEL_FOLDER
        size = self.tier.sizes[0]
        files = MODEL_FILES[size]
        model = f"YOLO {size} ({' or '.join(files)})"
        found = self.models.find(*(f"{MODEL_FOLDER}/{f}" for f in files))
        if found is not None:
            return [ModelStatus(self.name, model, str(found))]
        hint = f"put {' or '.join(files)} in {folder}; "
        if self.model_path is None:
            return [ModelStatus(self.name, model, None, hint + export_hint(size))]
        fallback = ModelStatus(
            self.name, f"YOLO {self.model_size} (used instead)", str(self.model_path)
        )
        hint += f"meanwhile {self.model_path.name} is used"
        return [ModelStatus(self.name, model, None, hint), fallback]

    def prepare(self) -> None:
        if self._engine is not None:
            return
        if self.model_path is None:
            raise StageUnavailable(
                f"objects: no YOLO ONNX model in {self.models.root / MODEL_FOLDER}; "
                + export_hint(self.tier.sizes[0])
            )
        session = _onnx.create_session(self.model_path, self.name)
        height, width = _onnx.static_hw(session, DEFAULT_INPUT)
        metadata = dict(session.get_modelmeta().custom_metadata_map)
        shape = session.get_outputs()[0].shape
        names = None
        if any(isinstance(side, int) for side in shape[1:]):
            names = self._names_for(shape, metadata)
        input_name = session.get_inputs()[0].name
        self._engine = _Engine(session, input_name, height, width, names, metadata)

    def _names_for(self, shape: Sequence[object], metadata: dict[str, str]) -> tuple[str, ...]:
        """The class names fitting an output of ``shape`` (1, values per box, anchors).

        Raises:
            StageUnavailable: no side of the output fits the model's names or COCO's.
        """
        for side in shape[1:]:
            if isinstance(side, int) and side > 4:
                names = class_names(metadata, side - 4)
                if names is not None:
                    return names
        model = self.model_path.name if self.model_path is not None else "the model"
        raise StageUnavailable(
            f"objects: {model} gives output {list(shape)}, which fits neither its class names "
            "nor the 80 COCO classes; use a standard Ultralytics detection export "
            "(format=onnx, without nms=True), see docs/models.md"
        )

    def frame_request(self, info: MediaInfo) -> FrameRequest:
        side = DEFAULT_INPUT
        if self._engine is not None:
            side = max(self._engine.height, self._engine.width)
        return FrameRequest(self.tier.interval_ms, max_side=side)

    def detect(self, frame: SampledFrame, source_size: tuple[int, int] | None) -> Detections:
        """The detections in one frame, boxes in source-frame pixels."""
        engine = self._require()
        tensor, box = _onnx.letterbox(frame.image, engine.height, engine.width, engine.buffer)
        engine.buffer = tensor
        (output,) = engine.session.run(None, {engine.input_name: tensor})[:1]
        if engine.names is None:  # a dynamic output shape: learn the class count now
            engine.names = self._names_for(output.shape, engine.metadata)
        tier = self.tier
        found = decode_yolo(
            output, len(engine.names), tier.confidence, tier.iou, tier.max_detections
        )
        boxes = _onnx.boxes_to_source(found.boxes, box, frame.scale, source_size)
        self.inferred_frames += 1
        return Detections(boxes, found.scores, found.classes)

    def on_frame(self, frame: SampledFrame) -> None:
        self._last_ms = frame.time_ms
        if self._source is None:
            height, width = frame.image.shape[:2]
            self._source = (round(width / frame.scale), round(height / frame.scale))
        if not self._gate.changed(frame.image):
            return  # nothing moved: every open track simply continues
        found = self.detect(frame, self._source)
        self._follow(found, frame)

    def _follow(self, found: Detections, frame: SampledFrame) -> None:
        """Continue, close and open tracks with one frame's detections."""
        open_tracks = [t for t in self._tracks if t.end_ms is None]
        pairs = []
        for d, cls in enumerate(found.classes.tolist()):
            det = tuple(float(v) for v in found.boxes[d])
            for t, track in enumerate(open_tracks):
                overlap = box_iou(track.box, det) if track.class_id == cls else 0.0
                if overlap >= self.tier.track_iou:
                    pairs.append((overlap, d, t))
        used_d: set[int] = set()
        used_t: set[int] = set()
        for _, d, t in sorted(pairs, reverse=True):
            if d in used_d or t in used_t:
                continue
            used_d.add(d)
            used_t.add(t)
            open_tracks[t].see(_corners(found.boxes[d]), float(found.scores[d]), frame.index)
        for t, track in enumerate(open_tracks):
            if t not in used_t:
                track.end_ms = frame.time_ms
        for d in range(len(found.scores)):
            if d not in used_d:
                corners, score = _corners(found.boxes[d]), float(found.scores[d])
                cls = int(found.classes[d])
                self._tracks.append(
                    _Track(cls, corners, frame.time_ms, score, corners, frame.index)
                )

    def finish(self, info: MediaInfo) -> list[Finding]:
        names = self._require().names or COCO_CLASSES
        last = self._last_ms or 0
        close = min(last + self.tier.interval_ms, info.duration_ms)
        findings = []
        for track in self._tracks:
            end = track.end_ms if track.end_ms is not None else max(last, close)
            x1, y1, x2, y2 = track.best_box
            payload = {
                "label": names[track.class_id],
                "confidence": round(min(1.0, max(0.0, track.confidence)), 4),
                "bounding_box": {
                    "x": round(x1, 1),
                    "y": round(y1, 1),
                    "width": round(x2 - x1, 1),
                    "height": round(y2 - y1, 1),
                },
                "frame_number": track.frame_number,
            }
            findings.append(Finding(track.start_ms, max(track.start_ms, end), payload))
        findings.sort(key=lambda f: (f.span_start_ms, f.payload["label"]))
        return findings

    def _require(self) -> _Engine:
        if self._engine is None:
            raise RuntimeError("objects: prepare() was not called")
        return self._engine


def _corners(row: npt.NDArray[np.float32]) -> tuple[float, float, float, float]:
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])
