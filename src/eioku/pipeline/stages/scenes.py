"""The ``scenes`` stage: shots between hard cuts, found by PySceneDetect on every frame.

The stage asks the run's decoding pass for every frame, shrunk so its longer side is a few
hundred pixels (cuts are as visible there, and the detector's cost grows with the pixels),
and feeds each one to a PySceneDetect detector. It writes one ``scene`` artifact per shot,
spanning from the shot's first frame to the next shot's first frame; the first shot starts
at 0 and the last ends with the video, so the shots cover the whole video.

Every profile uses PySceneDetect's AdaptiveDetector: a frame's content difference (HSV,
against the previous frame) must be at least 15 and at least 3 times the mean difference of
its neighbours, so steady camera motion does not cut while a hard cut between two similar
colours (which the fixed-threshold ContentDetector misses below its default 27) does.
The profiles differ in how closely they look:

- ``fast``: frames shrunk to 256 pixels, two neighbours a side;
- ``balanced``: 320 pixels, two neighbours a side;
- ``high_quality``: 480 pixels, three neighbours a side (steadier under motion).

Every profile ignores a cut less than 0.5 s after the previous one (flashes, strobes), and
the detector needs its neighbours, so a cut in the last two or three frames of a video is
not reported. A shot's ``score`` is the content difference at its first frame (0 for the
first shot).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from fractions import Fraction
from importlib import import_module, metadata
from typing import Any

from eioku.domain.profiles import ModelProfile
from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import Finding, FrameStage, StageUnavailable

_MS = Fraction(1, 1000)
_FALLBACK_FPS = 25.0
_LOOKBACK_MS = 2000
"""How far behind the newest frame a detector may place a cut, beyond the minimum length."""


@dataclass(frozen=True, slots=True)
class _Settings:
    """One profile's detector settings (they are the stage's config)."""

    max_side: int
    window_width: int
    method: str = "adaptive"
    adaptive_threshold: float = 3.0
    min_content_val: float = 15.0
    min_scene_ms: int = 500


_PROFILES: dict[ModelProfile, _Settings] = {
    ModelProfile.FAST: _Settings(max_side=256, window_width=2),
    ModelProfile.BALANCED: _Settings(max_side=320, window_width=2),
    ModelProfile.HIGH_QUALITY: _Settings(max_side=480, window_width=3),
}


@dataclass(frozen=True, slots=True)
class _Seen:
    """A frame fed to the detector, kept while a cut may still be placed on it."""

    time_ms: int
    index: int
    score: float


class ScenesStage(FrameStage):
    """Shot boundaries with PySceneDetect; one ``scene`` artifact per shot."""

    name = "scenes"
    artifact_type = "scene"

    def __init__(self, profile: ModelProfile, models: ModelLibrary) -> None:
        super().__init__(profile, models)
        self._settings = _PROFILES[profile]
        self._detector: Any = None
        self._to_bgr: Any = None
        self._make_timecode: Any = None
        self._fps = _FALLBACK_FPS
        self._recent: deque[_Seen] = deque()
        self._first: _Seen | None = None
        self._last: _Seen | None = None
        self._cuts: list[_Seen] = []

    @property
    def producer(self) -> str:
        return "pyscenedetect"

    @property
    def producer_version(self) -> str:
        try:
            return metadata.version("scenedetect")
        except metadata.PackageNotFoundError:
            return "unknown"

    def config(self) -> dict[str, Any]:
        return asdict(self._settings)

    def prepare(self) -> None:
        if self._detector is not None:
            return
        try:  # the engines ship no type information: imported by name, typed as Any
            cv2: Any = import_module("cv2")
            common: Any = import_module("scenedetect.common")
            detectors: Any = import_module("scenedetect.detectors")
        except ImportError as exc:
            raise StageUnavailable(
                f"PySceneDetect cannot be imported ({exc}): install scenedetect 0.7"
            ) from exc

        def make_timecode(time_ms: int) -> Any:
            return common.FrameTimecode(common.Timecode(time_ms, _MS), fps=self._fps)

        def to_bgr(image: Any) -> Any:
            return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # PySceneDetect reads BGR

        self._make_timecode, self._to_bgr = make_timecode, to_bgr
        settings = self._settings
        self._detector = detectors.AdaptiveDetector(
            adaptive_threshold=settings.adaptive_threshold,
            min_scene_len=settings.min_scene_ms / 1000,  # a float is seconds
            window_width=settings.window_width,
            min_content_val=settings.min_content_val,
        )

    def frame_request(self, info: MediaInfo) -> FrameRequest:
        if info.fps > 0:
            self._fps = info.fps
        return FrameRequest(interval_ms=0, max_side=self._settings.max_side)

    def on_frame(self, frame: SampledFrame) -> None:
        self.prepare()
        if self._last is not None and frame.time_ms <= self._last.time_ms:
            return  # a repeated or out-of-order timestamp: the detector needs rising times
        cuts = self._detector.process_frame(
            self._make_timecode(frame.time_ms), self._to_bgr(frame.image)
        )
        score = float(getattr(self._detector, "_frame_score", None) or 0.0)
        seen = _Seen(frame.time_ms, frame.index, score)
        if self._first is None:
            self._first = seen
        self._last = seen
        self._recent.append(seen)
        self._take(cuts)
        horizon = frame.time_ms - self._settings.min_scene_ms - _LOOKBACK_MS
        while self._recent and self._recent[0].time_ms < horizon:
            self._recent.popleft()

    def finish(self, info: MediaInfo) -> list[Finding]:
        if self._first is None or self._last is None:
            return []
        self._take(self._detector.post_process(self._make_timecode(self._last.time_ms)))
        step = round(1000 / self._fps)
        end_ms = (
            info.duration_ms if info.duration_ms > self._last.time_ms else self._last.time_ms + step
        )
        starts = [_Seen(0, self._first.index, 0.0), *self._cuts]
        findings = []
        for number, shot in enumerate(starts):
            stop = starts[number + 1].time_ms if number + 1 < len(starts) else end_ms
            payload = {
                "scene_index": number,
                "method": self._settings.method,
                "score": round(shot.score, 4),
                "frame_number": shot.index,
            }
            findings.append(Finding(shot.time_ms, stop, payload))
        return findings

    def _take(self, cuts: list[Any]) -> None:
        """Record the detector's cuts (timecodes of frames fed earlier) as shot starts."""
        for cut in cuts:
            time_ms = int(cut.pts)
            floor = self._cuts[-1].time_ms if self._cuts else 0
            if time_ms <= floor:
                continue
            seen = next((s for s in self._recent if s.time_ms == time_ms), None)
            if seen is None:  # pragma: no cover - a cut further back than the look-back
                seen = _Seen(time_ms, self._last.index if self._last else 0, 0.0)
            self._cuts.append(seen)
