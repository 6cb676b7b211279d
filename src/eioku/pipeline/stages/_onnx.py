"""Shared pieces of the ONNX stages (objects, places): sessions, image preparation, change gate.

A run feeds its frame stages on one thread while speech recognition works on the other
core, so an ONNX Runtime session uses :data:`DEFAULT_THREADS` thread unless
``EIOKU_ONNX_THREADS`` asks for more. The thread count does not change results, so it is
not part of any stage's configuration hash.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eioku.pipeline.stage import StageUnavailable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

DEFAULT_THREADS = 1
"""ONNX Runtime intra-op threads when ``EIOKU_ONNX_THREADS`` is not set."""
THREADS_VARIABLE = "EIOKU_ONNX_THREADS"
PAD_VALUE = 114
"""Grey used to pad letterboxed images, as Ultralytics does when it trains and predicts."""


def onnx_threads() -> int:
    """Intra-op threads: ``EIOKU_ONNX_THREADS`` when it is a positive integer."""
    raw = os.environ.get(THREADS_VARIABLE, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_THREADS


def onnxruntime_version() -> str:
    """The installed ONNX Runtime version (without importing it)."""
    from importlib import metadata

    try:
        return metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:
        return "missing"


def create_session(path: Path, stage: str, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session for the model at ``path``, fully graph-optimised.

    Args:
        path: the ``.onnx`` file.
        stage: the stage name, for error messages.
        threads: intra-op threads (default: :func:`onnx_threads`).

    Raises:
        StageUnavailable: ONNX Runtime is missing or the file is not a loadable model.
    """
    try:
        # Imported by name: onnxruntime ships no type information.
        ort: Any = import_module("onnxruntime")
    except ImportError as exc:
        raise StageUnavailable(f"{stage}: onnxruntime is not installed ({exc})") from None
    options = ort.SessionOptions()
    count = threads if threads is not None else onnx_threads()
    options.intra_op_num_threads = count
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: shape-inference warnings are noise here
    # Busy-waiting worker threads would steal the core the other stages run on.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime raises its own untyped errors for bad files
        raise StageUnavailable(
            f"{stage}: {path} is not a model ONNX Runtime can load ({exc}); "
            "replace it with a fresh export (see docs/models.md)"
        ) from None


@lru_cache(maxsize=32)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def producer_version(model: Path | None) -> str:
    """``<model file stem>+onnxruntime-<version>``: what an ONNX stage's artifacts record."""
    name = model.stem if model is not None else "none"
    return f"{name}+onnxruntime-{onnxruntime_version()}"


def file_digest(path: Path) -> str:
    """A short SHA-256 of a model file (cached while its size and mtime stay the same)."""
    stat = path.stat()
    return _digest(str(path), stat.st_size, stat.st_mtime_ns)


def static_hw(session: Any, default: int) -> tuple[int, int]:
    """The (height, width) of the session's image input; ``default`` for dynamic sides."""
    shape = session.get_inputs()[0].shape
    sides = [shape[2] if len(shape) == 4 else None, shape[3] if len(shape) == 4 else None]
    height, width = (side if isinstance(side, int) and side > 0 else default for side in sides)
    return height, width


def resize(image: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """``image`` (RGB, HxWx3) resized to ``width`` x ``height`` with bilinear filtering."""
    import numpy as np
    from PIL import Image

    if image.shape[1] == width and image.shape[0] == height:
        return image
    picture = Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(picture, dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How an image was fitted into a model input: scaled by ``ratio``, then padded."""

    ratio: float
    left: int
    top: int


def letterbox(
    image: npt.NDArray[np.uint8],
    height: int,
    width: int,
    out: npt.NDArray[np.float32] | None = None,
) -> tuple[npt.NDArray[np.float32], Letterbox]:
    """Fit ``image`` into ``height`` x ``width`` keeping its aspect ratio, centred on grey.

    Args:
        image: an RGB frame, HxWx3.
        height: model input height.
        width: model input width.
        out: a 1x3xHxW float32 array to fill instead of allocating one (reusing it per
            frame saves the cost of fresh memory, several ms at 640x640).

    Returns:
        The model input (1x3xHxW float32 RGB in 0..1) and how to map boxes back.
    """
    import numpy as np

    src_h, src_w = image.shape[:2]
    ratio = min(height / src_h, width / src_w)
    new_w, new_h = max(1, round(src_w * ratio)), max(1, round(src_h * ratio))
    left, top = (width - new_w) // 2, (height - new_h) // 2
    if out is None or out.shape != (1, 3, height, width):
        tensor = np.empty((1, 3, height, width), dtype=np.float32)
    else:
        tensor = out
    tensor.fill(PAD_VALUE / 255.0)
    fitted = resize(image, new_w, new_h).transpose(2, 0, 1)
    np.multiply(
        fitted, np.float32(1.0 / 255.0), out=tensor[0, :, top : top + new_h, left : left + new_w]
    )
    return tensor, Letterbox(ratio, left, top)


def boxes_to_source(
    boxes: npt.NDArray[np.float32],
    box: Letterbox,
    scale: float,
    source_size: tuple[int, int] | None = None,
) -> npt.NDArray[np.float32]:
    """Map x1, y1, x2, y2 rows from model-input pixels to source-frame pixels.

    Args:
        boxes: Nx4 corners in the letterboxed model input.
        box: how the frame was letterboxed.
        scale: array pixels per source pixel of the sampled frame.
        source_size: (width, height) of the source frame, to clip the boxes to it.
    """
    import numpy as np

    out = boxes.astype(np.float32, copy=True)
    out[:, [0, 2]] -= box.left
    out[:, [1, 3]] -= box.top
    out /= np.float32(box.ratio * scale)
    if source_size is not None:
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, source_size[0])
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, source_size[1])
    return out


class ChangeGate:
    """Tells whether a frame differs visibly from the last frame that was let through.

    Frames are compared as 32x32 grey thumbnails; the difference is the mean (or the
    largest, to notice small objects) absolute change in 0..255 grey levels. Comparing with
    the last frame *let through*, not the previous one, makes slow drifts add up.

    Args:
        threshold: the difference at which a frame counts as changed; 0 lets every frame
            through.
        statistic: ``"mean"`` or ``"max"`` of the per-cell differences.
    """

    SIDE = 32

    def __init__(self, threshold: float, statistic: str = "mean") -> None:
        self.threshold = threshold
        self.statistic = statistic
        self._reference: npt.NDArray[np.float32] | None = None

    def changed(self, image: npt.NDArray[np.uint8]) -> bool:
        """Whether ``image`` changed; a changed image becomes the new reference."""
        import numpy as np
        from PIL import Image

        grey = (
            Image.fromarray(image).convert("L").resize((self.SIDE, self.SIDE), Image.Resampling.BOX)
        )
        thumb = np.asarray(grey, dtype=np.float32)
        if self._reference is not None and self.threshold > 0:
            diff = np.abs(thumb - self._reference)
            value = float(diff.max() if self.statistic == "max" else diff.mean())
            if value < self.threshold:
                return False
        self._reference = thumb
        return True


def softmax(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Softmax over the last axis, computed stably."""
    import numpy as np

    shifted = values - values.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: npt.NDArray[np.float32] = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
    return result
