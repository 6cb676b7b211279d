"""The ``ocr`` stage: on-screen text read with RapidOCR (PP-OCRv4 on onnxruntime), SPEC §9.

Reading text is the most expensive per-frame work of a run, so the stage runs the engine
only on the part of a sampled frame that changed visibly since it was last read (a tiny
grayscale thumbnail is compared cell by cell); unchanged frames are not read at all.
Text that stays on screen is followed as a *text track* across reads and unchanged
frames and becomes one ``ocr.text`` artifact spanning the time it is visible, not one
per sampled frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any

from eioku.domain.profiles import ModelProfile
from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame
from eioku.pipeline.models import ModelLibrary, ModelStatus
from eioku.pipeline.stage import Finding, FrameStage, StageUnavailable
from eioku.pipeline.stages.frame_changes import FULL_READ_SHARE, THUMBNAIL_SIZE, ChangeDetector
from eioku.pipeline.stages.text_tracks import MIN_IOU, Rect, TextRead, TextTracker

logger = logging.getLogger(__name__)

PACKAGE = "rapidocr-onnxruntime"
MODEL_FILES = (
    "ch_PP-OCRv4_det_infer.onnx",
    "ch_PP-OCRv4_rec_infer.onnx",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx",
)
"""The detector, recogniser and angle classifier the package bundles in ``models/``."""


@dataclass(frozen=True, slots=True)
class OcrSettings:
    """What a profile means for the OCR stage.

    Attributes:
        interval_ms: one sampled frame every this many milliseconds.
        max_side: the frame's longer side is scaled down to this before detection (the
            detector's cost grows with the pixel count: ~60 ms at 640x360 against
            ~360 ms at 1280x720 on one core, and 640x360 still reads 30 px captions).
        min_confidence: reads scored lower by the recogniser are dropped.
        angle_classifier: also run PP-OCR's 0/180 degree classifier on each line.
        change_level: a thumbnail cell whose gray level moved by more than this (0..255)
            since it was last read counts as changed; one such cell triggers a read.
        similarity: two reads are the same text when their normalised texts are at least
            this similar (1 - edit distance / length: 0.8 allows 2 errors in 10 letters).
        unclip_ratio: how far the detector widens a line's box before it is recognised.
            The engine's 1.6 crops so tightly that the recogniser drops spaces between
            words ("QUARTERLYREPORT") on 640-960 px frames; 2.2 keeps them, and lines
            1.1 text heights apart still come out separate.
    """

    interval_ms: int
    max_side: int
    min_confidence: float
    angle_classifier: bool
    change_level: float = 10.0
    similarity: float = 0.8
    unclip_ratio: float = 2.2


PROFILES: dict[ModelProfile, OcrSettings] = {
    ModelProfile.FAST: OcrSettings(
        interval_ms=1000, max_side=640, min_confidence=0.6, angle_classifier=False
    ),
    ModelProfile.BALANCED: OcrSettings(
        interval_ms=750, max_side=960, min_confidence=0.55, angle_classifier=False
    ),
    ModelProfile.HIGH_QUALITY: OcrSettings(
        interval_ms=500, max_side=1280, min_confidence=0.5, angle_classifier=True
    ),
}
"""Measured on one core (CPU time per whole-frame read, 720p source, 0-3 lines of text):
~60-115 ms at 640x360, ~190-250 ms at 960x540, ~360-480 ms at 1280x720. When every
sampled frame changes everywhere (a moving camera), OCR then costs about 0.1, 0.3 and
0.9 CPU seconds per second of video; frames with still text cost almost nothing. The
frame stages share one thread in a run, so balanced samples every 750 ms, not 500."""


def _scaled(rect: Rect, factor: float) -> Rect:
    return rect[0] * factor, rect[1] * factor, rect[2] * factor, rect[3] * factor


def _models_dir() -> Path | None:
    """Where the installed package keeps its ONNX models (found without importing it)."""
    spec = util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class OcrStage(FrameStage):
    """On-screen text: one ``ocr.text`` artifact per line of text per stretch it is visible.

    Only the part of a sampled frame that changed visibly since it was last read is read
    again (all of it when most changed); see :class:`ChangeDetector` and
    :class:`TextTracker`.

    Attributes:
        frames_seen: sampled frames fed so far.
        engine_calls: reads by the OCR engine (frames or parts of frames that changed).
        pixels_read: frame pixels the engine read, summed over its calls.
        threads: onnxruntime intra-op threads per model; one thread per stage costs the
            least CPU time on a small machine where other stages run alongside.
    """

    name = "ocr"
    artifact_type = "ocr.text"
    threads: int = 1

    def __init__(self, profile: ModelProfile, models: ModelLibrary) -> None:
        super().__init__(profile, models)
        self.settings = PROFILES[profile]
        self.frames_seen = 0
        self.engine_calls = 0
        self.pixels_read = 0
        self._engine: Any = None
        self._tracker = TextTracker(self.settings.interval_ms, self.settings.similarity)
        self._changes = ChangeDetector(self.settings.change_level)

    @property
    def producer(self) -> str:
        return "rapidocr"

    @property
    def producer_version(self) -> str:
        try:
            version = metadata.version(PACKAGE)
        except metadata.PackageNotFoundError:
            version = "missing"
        return f"{version}+pp-ocrv4"

    def config(self) -> dict[str, Any]:
        s = self.settings
        return {
            "engine": PACKAGE,
            "models": list(MODEL_FILES if s.angle_classifier else MODEL_FILES[:2]),
            "detector_input": "frame size (limit_type max)",
            "interval_ms": s.interval_ms,
            "max_side": s.max_side,
            "min_confidence": s.min_confidence,
            "angle_classifier": s.angle_classifier,
            "unclip_ratio": s.unclip_ratio,
            "change_level": s.change_level,
            "thumbnail": list(THUMBNAIL_SIZE),
            "full_read_share": FULL_READ_SHARE,
            "similarity": s.similarity,
            "min_iou": MIN_IOU,
        }

    def model_status(self) -> list[ModelStatus]:
        folder = _models_dir()
        present = folder is not None and all((folder / f).is_file() for f in MODEL_FILES)
        return [
            ModelStatus(
                stage=self.name,
                model="PP-OCRv4 detector + recogniser (bundled)",
                location=str(folder) if present else None,
                hint=f"pip install '{PACKAGE}>=1.4,<2' (the package ships the models)",
            )
        ]

    def prepare(self) -> None:
        if self._engine is not None:
            return
        folder = _models_dir()
        missing = [f for f in MODEL_FILES if folder is None or not (folder / f).is_file()]
        if missing:
            raise StageUnavailable(
                f"OCR needs the {PACKAGE} package and the models it bundles "
                f"(missing: {', '.join(missing)}); install it: pip install '{PACKAGE}>=1.4,<2'"
            )
        from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

        self._engine = RapidOCR(
            # "max" leaves frames below 960 px at their own size; the default ("min", 736)
            # scales every frame up to 736 px high: 720p cost for a 360p frame.
            det_limit_type="max",
            det_unclip_ratio=self.settings.unclip_ratio,
            use_cls=self.settings.angle_classifier,
            text_score=self.settings.min_confidence,
            intra_op_num_threads=self.threads,
            inter_op_num_threads=1,
        )

    def frame_request(self, info: MediaInfo) -> FrameRequest:
        return FrameRequest(self.settings.interval_ms, self.settings.max_side)

    def on_frame(self, frame: SampledFrame) -> None:
        self.frames_seen += 1
        scale = frame.scale
        following = [_scaled(rect, scale) for rect in self._tracker.rects]
        region = self._changes.changed(frame.image, following)
        if region is None:
            self._tracker.unchanged(frame.time_ms)
            return
        reads = self.read(frame, region)
        height, width = frame.image.shape[:2]
        self._changes.processed(region, width, height)
        whole = region == (0.0, 0.0, float(width), float(height))
        within = None if whole else _scaled(region, 1 / scale)
        self._tracker.read(frame.time_ms, frame.index, reads, within)

    def read(self, frame: SampledFrame, region: Rect | None = None) -> list[TextRead]:
        """Run the engine on a frame, or the ``region`` of it (frame pixels).

        Returns:
            The lines kept (confident enough, with a letter or digit), polygons in
            source-frame pixels.
        """
        import numpy as np

        self.prepare()
        left, top, right, bottom = (int(v) for v in region) if region else (0, 0, 0, 0)
        image = frame.image[top:bottom, left:right] if region else frame.image
        # PP-OCR's models read BGR, which is what the engine takes an array to hold.
        result, _ = self._engine(np.ascontiguousarray(image[:, :, ::-1]))
        self.engine_calls += 1
        self.pixels_read += image.shape[0] * image.shape[1]
        reads: list[TextRead] = []
        for box, raw_text, score in result or ():
            text, confidence = str(raw_text).strip(), float(score)
            if confidence < self.settings.min_confidence or not any(c.isalnum() for c in text):
                continue
            polygon = tuple(
                (
                    round((float(x) + left) / frame.scale, 1),
                    round((float(y) + top) / frame.scale, 1),
                )
                for x, y in box
            )
            reads.append(TextRead(text, min(confidence, 1.0), polygon))
        return reads

    def finish(self, info: MediaInfo) -> list[Finding]:
        findings = self._tracker.finish(info.duration_ms)
        logger.info(
            "ocr: %d sampled frames, %d reads, %d texts",
            self.frames_seen,
            self.engine_calls,
            len(findings),
        )
        return findings
