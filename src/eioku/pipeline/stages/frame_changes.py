"""Which part of a sampled frame changed visibly since it was last processed.

Expensive frame stages (OCR above all) use it to skip frames that look like the last one
they processed, and to process only the part of a frame that changed (SPEC §9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Rect = tuple[float, float, float, float]
"""An axis-aligned rectangle ``(x0, y0, x1, y1)`` in pixels."""

THUMBNAIL_SIZE = (64, 36)
"""Width and height of the grayscale thumbnail frames are compared by."""

FULL_READ_SHARE = 0.5
"""A part covering more than this share of the frame is widened to the whole frame."""

MIN_REGION = 96
"""Least width and height, in frame pixels, of a part (a detector needs some context)."""


class ChangeDetector:
    """Decides which part of a sampled frame changed visibly since it was last processed.

    Each frame is shrunk to a grayscale thumbnail of :data:`THUMBNAIL_SIZE` cells (64x36:
    a cell is 20x20 pixels of a 720p frame); a cell whose mean gray level moved by more
    than ``level`` from the reference changed. The reference holds, cell by cell, what
    was last processed, so a slow fade adds up until it counts. Measured on H.264 with
    pixel noise, unchanged frames move a cell by at most 2 levels; a 72 px caption
    appearing moves its cells by up to ~115.

    Call :meth:`changed` for each frame, then :meth:`processed` with the part actually
    processed (nothing for a frame that was skipped).

    Args:
        level: least gray-level change (0..255) of a changed cell.
    """

    def __init__(self, level: float) -> None:
        self.level = level
        self._reference: npt.NDArray[np.int16] | None = None
        self._thumbnail: npt.NDArray[np.int16] | None = None

    def changed(self, image: npt.NDArray[np.uint8], followed: Sequence[Rect]) -> Rect | None:
        """The part of ``image`` to process again, in its pixels; None when nothing changed.

        The first frame is changed everywhere. A part is the changed cells' bounds plus
        one cell, grown to cover every followed box it touches (so no line of text is
        read cut in two), at least :data:`MIN_REGION` pixels wide and high, and the whole
        frame when it would cover more than :data:`FULL_READ_SHARE` of it.

        Args:
            image: the frame (RGB).
            followed: boxes of things being followed, in the image's pixels.
        """
        import cv2
        import numpy as np

        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        small = cv2.resize(gray, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA)
        self._thumbnail = np.asarray(small, dtype=np.int16)
        height, width = image.shape[:2]
        if self._reference is None:
            return 0.0, 0.0, float(width), float(height)
        cells = np.abs(self._thumbnail - self._reference) > self.level
        if not cells.any():
            return None
        rows, cols = np.nonzero(cells)
        cell_w, cell_h = width / THUMBNAIL_SIZE[0], height / THUMBNAIL_SIZE[1]
        region: Rect = (
            (int(cols.min()) - 1) * cell_w,
            (int(rows.min()) - 1) * cell_h,
            (int(cols.max()) + 2) * cell_w,
            (int(rows.max()) + 2) * cell_h,
        )
        return _fit(_grow(region, followed), width, height)

    def processed(self, region: Rect, width: int, height: int) -> None:
        """The frame last given to :meth:`changed` was processed inside ``region``."""
        if self._thumbnail is None:
            return
        if self._reference is None:
            self._reference = self._thumbnail.copy()
            return
        # Only cells the part covers whole become the new reference.
        cell_w, cell_h = width / THUMBNAIL_SIZE[0], height / THUMBNAIL_SIZE[1]
        c0, c1 = math.ceil(region[0] / cell_w - 1e-6), math.floor(region[2] / cell_w + 1e-6)
        r0, r1 = math.ceil(region[1] / cell_h - 1e-6), math.floor(region[3] / cell_h + 1e-6)
        self._reference[r0:r1, c0:c1] = self._thumbnail[r0:r1, c0:c1]


def _grow(region: Rect, boxes: Sequence[Rect]) -> Rect:
    """``region`` grown until it covers, with a margin, every box it touches."""
    grown = True
    while grown:
        grown = False
        for box in boxes:
            margin = (box[3] - box[1]) / 2
            padded = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
            if _intersects(region, padded) and not _covers(region, padded):
                region = (
                    min(region[0], padded[0]),
                    min(region[1], padded[1]),
                    max(region[2], padded[2]),
                    max(region[3], padded[3]),
                )
                grown = True
    return region


def _intersects(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _covers(outer: Rect, inner: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


def _fit(region: Rect, width: int, height: int) -> Rect:
    """``region`` in whole pixels inside the frame, at least :data:`MIN_REGION` wide and
    high; the whole frame when it would cover more than :data:`FULL_READ_SHARE` of it."""
    x0, y0, x1, y1 = region
    grow_x = max(0.0, min(MIN_REGION, width) - (x1 - x0)) / 2
    grow_y = max(0.0, min(MIN_REGION, height) - (y1 - y0)) / 2
    x0, x1 = x0 - grow_x, x1 + grow_x
    y0, y1 = y0 - grow_y, y1 + grow_y
    x0, x1 = (0.0, x1 - x0) if x0 < 0 else (x0, x1)
    y0, y1 = (0.0, y1 - y0) if y0 < 0 else (y0, y1)
    x0, x1 = (x0 - (x1 - width), float(width)) if x1 > width else (x0, x1)
    y0, y1 = (y0 - (y1 - height), float(height)) if y1 > height else (y0, y1)
    left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
    right, bottom = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    if (right - left) * (bottom - top) > FULL_READ_SHARE * width * height:
        return 0.0, 0.0, float(width), float(height)
    return float(left), float(top), float(right), float(bottom)
