"""Text tracks: per-frame OCR reads joined into one finding per stretch a text is visible.

Pure logic (no engine, no image): which reads are the same text in the same place, and
what span, text, box and confidence the finding of a track gets (SPEC §9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eioku.pipeline.stage import Finding

Rect = tuple[float, float, float, float]
"""An axis-aligned rectangle ``(x0, y0, x1, y1)`` in pixels."""

MIN_IOU = 0.3
"""Box overlap from which two reads are in the same place."""

_KEYS_PER_TRACK = 8


def normalise(text: str) -> str:
    """The form reads are compared in: lower case, without any whitespace."""
    return "".join(text.lower().split())


def iou(a: Rect, b: Rect) -> float:
    """Intersection over union of two rectangles."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _intersects(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def similarity(a: str, b: str, floor: float = 0.0) -> float:
    """Edit similarity of two normalised texts: 1 - Levenshtein distance / longer length.

    Args:
        a: one text.
        b: the other.
        floor: below this the exact value does not matter; 0.0 is returned as soon as the
            result is known to be lower (keeps comparing long unrelated lines cheap).
    """
    if a == b:
        return 1.0
    longest = max(len(a), len(b))
    budget = int((1.0 - floor) * longest + 1e-9)  # most edits that still reach the floor
    if abs(len(a) - len(b)) > budget:
        return 0.0
    row = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, char_b in enumerate(b, 1):
            cost = diagonal + (char_a != char_b)
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, cost)
        if min(row) > budget:
            return 0.0
    return 1.0 - row[-1] / longest


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass(frozen=True, slots=True)
class TextRead:
    """One line the engine read in one frame, its polygon in source-frame pixels."""

    text: str
    confidence: float
    polygon: tuple[tuple[float, float], ...]

    @property
    def key(self) -> str:
        """The normalised text."""
        return normalise(self.text)

    @property
    def rect(self) -> Rect:
        """The polygon's bounds."""
        xs = [x for x, _ in self.polygon]
        ys = [y for _, y in self.polygon]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(slots=True)
class _Track:
    """A text followed across frames while it stays on screen."""

    best: TextRead
    keys: set[str]
    rect: Rect
    first_ms: int
    last_ms: int
    frame_number: int
    confidence_sum: float
    reads: int = 1
    missed_at: int | None = None
    """Time of the read frame that did not show the text (None while it is seen)."""

    @classmethod
    def start(cls, read: TextRead, time_ms: int, frame_number: int) -> _Track:
        return cls(read, {read.key}, read.rect, time_ms, time_ms, frame_number, read.confidence)

    def add(self, read: TextRead, time_ms: int) -> None:
        if read.confidence > self.best.confidence:
            self.best = read
        if len(self.keys) < _KEYS_PER_TRACK:
            self.keys.add(read.key)
        self.rect = read.rect
        self.confidence_sum += read.confidence
        self.reads += 1
        self.last_ms = time_ms
        self.missed_at = None

    def finding(self, end_ms: int) -> Finding:
        payload: dict[str, Any] = {
            "text": self.best.text,
            "confidence": round(self.confidence_sum / self.reads, 4),
            "bounding_box": [{"x": x, "y": y} for x, y in self.best.polygon],
            "language": None,
            "frame_number": self.frame_number,
        }
        return Finding(self.first_ms, max(self.first_ms, end_ms), payload)


@dataclass(slots=True)
class TextTracker:
    """Turns per-frame reads into one finding per stretch of time a text stays visible.

    A read line continues an open track when it is the same text (after
    :func:`normalise`), preferring the track whose box overlaps it most, so text that
    moves stays one track and two equal texts in two places stay two. A line that differs
    by an OCR slip (edit similarity at least ``similarity``, the same digits) continues a
    track only in the same place (IoU >= :data:`MIN_IOU`). A track missed by one read is
    kept for one more (OCR flickers on blurred frames) and can then be continued by the
    same text only; missed twice, it closes. Unchanged frames extend every track seen.
    Only open tracks are held; closed ones are kept as their small findings.

    A finding spans from the first frame its text was seen in to the last one plus one
    sampling interval, never past the read frame that no longer showed it nor past the
    end of the video. Its confidence is the mean over the reads; its text and box come
    from the most confident read; its frame number is the frame it was first read in.

    Args:
        interval_ms: the sampling interval.
        similarity: least edit similarity of two reads of one text with an OCR slip.
    """

    interval_ms: int
    similarity: float = 0.8
    _open: list[_Track] = field(default_factory=list, init=False)
    _done: list[Finding] = field(default_factory=list, init=False)

    @property
    def rects(self) -> list[Rect]:
        """Where the open tracks were last read, in source-frame pixels."""
        return [track.rect for track in self._open]

    def read(
        self, time_ms: int, frame_number: int, reads: list[TextRead], within: Rect | None = None
    ) -> None:
        """Record the lines read in the frame at ``time_ms`` (frames come in time order).

        Args:
            time_ms: the frame's time.
            frame_number: the frame's index in the video.
            reads: the lines read.
            within: the part of the frame that was read (None: all of it); tracks outside
                it are treated as on an unchanged frame.
        """
        active = {
            index
            for index, track in enumerate(self._open)
            if within is None or _intersects(track.rect, within)
        }
        pairs = self._match(reads, active)
        continued = set(pairs.values())
        kept: list[_Track] = []
        for index, track in enumerate(self._open):
            if index in continued:
                continue
            if index not in active:
                if track.missed_at is None:
                    track.last_ms = time_ms
            elif track.missed_at is None:
                track.missed_at = time_ms
            else:
                self._close(track)
                continue
            kept.append(track)
        for read_index, read in enumerate(reads):
            track_index = pairs.get(read_index)
            if track_index is None:
                kept.append(_Track.start(read, time_ms, frame_number))
            else:
                self._open[track_index].add(read, time_ms)
                kept.append(self._open[track_index])
        self._open = kept

    def unchanged(self, time_ms: int) -> None:
        """The frame at ``time_ms`` looks like the last read one: what was seen is still there."""
        for track in self._open:
            if track.missed_at is None:
                track.last_ms = time_ms

    def finish(self, duration_ms: int) -> list[Finding]:
        """Close every track (the video ended); all findings in time order.

        Args:
            duration_ms: the video's duration (0 when unknown: spans are not clipped).
        """
        for track in self._open:
            self._close(track, duration_ms)
        self._open = []
        return sorted(self._done, key=lambda f: (f.span_start_ms, f.span_end_ms))

    def _match(self, reads: list[TextRead], active: set[int]) -> dict[int, int]:
        """Read index -> open track index, greedily from the best pair."""
        candidates: list[tuple[bool, float, float, int, int]] = []
        for read_index, read in enumerate(reads):
            for track_index in active:
                likeness = self._likeness(read, self._open[track_index])
                if likeness is not None:
                    overlap, alike = likeness
                    candidates.append((overlap >= MIN_IOU, overlap, alike, read_index, track_index))
        candidates.sort(key=lambda c: c[:3], reverse=True)
        pairs: dict[int, int] = {}
        taken: set[int] = set()
        for *_, read_index, track_index in candidates:
            if read_index not in pairs and track_index not in taken:
                pairs[read_index] = track_index
                taken.add(track_index)
        return pairs

    def _likeness(self, read: TextRead, track: _Track) -> tuple[float, float] | None:
        """(box overlap, text similarity) when ``read`` may continue ``track``, else None."""
        key, overlap = read.key, iou(read.rect, track.rect)
        if key in track.keys:
            return overlap, 1.0
        if track.missed_at is not None or overlap < MIN_IOU:
            return None
        if _digits(key) != _digits(track.best.key):
            return None
        alike = similarity(key, track.best.key, self.similarity)
        return (overlap, alike) if alike >= self.similarity else None

    def _close(self, track: _Track, duration_ms: int = 0) -> None:
        end = track.last_ms + self.interval_ms
        if track.missed_at is not None:
            end = min(end, track.missed_at)
        if duration_ms > 0:
            end = min(end, duration_ms)
        self._done.append(track.finding(end))
