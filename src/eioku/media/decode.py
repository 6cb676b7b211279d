"""Probing and decoding with PyAV: what a file holds, its sampled frames, its audio (SPEC §9).

A run decodes the video stream once, front to back (seeking only pays off with dense
keyframes), and hands each frame-based stage the frames it asked for, at the size it asked
for: a frame is converted to an RGB array only when some stage is due, once per size.
The audio is decoded once, resampled to 16 kHz mono float32, which is what speech models
read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eioku.domain.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

AUDIO_RATE = 16_000
MAX_PIXELS = 8192 * 8192
"""Largest frame the pipeline accepts; a bigger one is refused before anything is decoded."""

_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?/?$")
_DATE_TAGS = ("creation_time", "com.apple.quicktime.creationdate", "date")
_LOCATION_TAGS = ("location", "com.apple.quicktime.location.ISO6709", "location-eng")


class MediaError(InvalidInput):
    """The file is not media Eioku can process (not a video, corrupt, unreadable...)."""

    code = "invalid_media"


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What the container says about a file, read without decoding any frame."""

    path: Path
    container: str
    file_size: int
    duration_ms: int
    has_video: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int | None = None
    video_codec: str | None = None
    has_audio: bool = False
    audio_codec: str | None = None
    sample_rate: int | None = None
    recorded_at: datetime | None = None
    gps: tuple[float, float, float | None] | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def _open(path: Path) -> Any:
    """The container, or MediaError naming why it cannot be opened."""
    import av

    try:
        return av.open(str(path), mode="r")
    except FileNotFoundError:
        raise MediaError(f"{path}: the file does not exist (moved or deleted?)") from None
    except PermissionError:
        raise MediaError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise MediaError(f"{path}: is a directory, not a media file") from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(f"{path}: not a readable media file ({reason})") from None


def probe(path: Path) -> MediaInfo:
    """Container and stream facts of ``path``.

    Raises:
        MediaError: missing, unreadable, empty, not media, or no video stream.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError(f"{path}: the file does not exist (moved or deleted?)") from None
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the file ({exc.strerror})") from None
    if size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes)")
    with _open(path) as container:
        try:
            return _describe(path, size, container)
        except (AttributeError, TypeError, ValueError, ZeroDivisionError) as exc:
            # A damaged header can leave PyAV without a codec context or a time base.
            raise MediaError(f"{path}: the container is damaged ({exc})") from None


def _describe(path: Path, size: int, container: Any) -> MediaInfo:
    """What ``probe`` returns, from an open container."""
    tags = {str(k).lower(): str(v) for k, v in (container.metadata or {}).items()}
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None:
        kind = "audio only" if audio is not None else "no video stream"
        raise MediaError(f"{path}: not a video ({kind})")
    width, height = int(video.codec_context.width or 0), int(video.codec_context.height or 0)
    if width <= 0 or height <= 0:
        raise MediaError(f"{path}: the video stream has no frame size (corrupt?)")
    if width * height > MAX_PIXELS:
        raise MediaError(
            f"{path}: frames of {width}x{height} are larger than the "
            f"{int(math.sqrt(MAX_PIXELS))}x{int(math.sqrt(MAX_PIXELS))} Eioku decodes"
        )
    for key, value in (video.metadata or {}).items():
        tags.setdefault(str(key).lower(), str(value))
    rate = video.average_rate or video.guessed_rate or video.base_rate
    fps = float(rate) if rate else 0.0
    duration_ms = _duration_ms(container, video, audio)
    frames = int(video.frames) if video.frames else None
    make, model = _camera(tags)
    return MediaInfo(
        path=path,
        container=str(container.format.name),
        file_size=size,
        duration_ms=duration_ms,
        has_video=True,
        width=width,
        height=height,
        fps=fps if math.isfinite(fps) else 0.0,
        frame_count=frames,
        video_codec=str(video.codec_context.name),
        has_audio=audio is not None,
        audio_codec=None if audio is None else str(audio.codec_context.name),
        sample_rate=None if audio is None else int(audio.codec_context.sample_rate or 0),
        recorded_at=_recorded_at(tags),
        gps=_gps(tags),
        camera_make=make,
        camera_model=model,
        tags=tags,
    )


def _duration_ms(container: Any, video: Any, audio: Any) -> int:
    if container.duration is not None and container.duration > 0:
        return int(container.duration // 1000)  # microseconds
    spans = [
        float(s.duration * s.time_base)
        for s in (video, audio)
        if s is not None and s.duration and s.time_base
    ]
    return int(max(spans) * 1000) if spans else 0


def _recorded_at(tags: Mapping[str, str]) -> datetime | None:
    for key in _DATE_TAGS:
        raw = tags.get(key)
        if not raw:
            continue
        try:
            stamp = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        if stamp.year < 1971:  # 1970/1904 epochs: cameras that never set their clock
            continue
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return None


def _gps(tags: Mapping[str, str]) -> tuple[float, float, float | None] | None:
    for key in _LOCATION_TAGS:
        raw = tags.get(key.lower())
        match = _ISO6709.match(raw.strip()) if raw else None
        if match is None:
            continue
        lat, lon = float(match.group(1)), float(match.group(2))
        alt = float(match.group(3)) if match.group(3) else None
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon, alt
    return None


def _camera(tags: Mapping[str, str]) -> tuple[str | None, str | None]:
    make = tags.get("com.apple.quicktime.make") or tags.get("make")
    model = tags.get("com.apple.quicktime.model") or tags.get("model")
    return make or None, model or None


@dataclass(frozen=True, slots=True)
class FrameRequest:
    """Which frames a stage wants: one every ``interval_ms`` (0: all), longer side capped."""

    interval_ms: int
    max_side: int | None = None


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """A decoded frame as an RGB array, with where it sits in the video.

    ``scale`` is array pixels per source pixel: divide array coordinates by it to get
    coordinates in the source frame (what payload boxes are in).
    """

    index: int
    time_ms: int
    image: npt.NDArray[np.uint8]
    scale: float


def _target_size(width: int, height: int, max_side: int | None) -> tuple[int, int, float]:
    if max_side is None or max(width, height) <= max_side:
        return width, height, 1.0
    scale = max_side / max(width, height)
    # Even sizes: some pixel-format conversions misbehave on odd widths.
    w = max(2, round(width * scale / 2) * 2)
    h = max(2, round(height * scale / 2) * 2)
    return w, h, w / width


def iter_frames(
    info: MediaInfo,
    requests: Mapping[str, FrameRequest],
    *,
    on_position: Callable[[int], None] | None = None,
) -> Iterator[dict[str, SampledFrame]]:
    """Decode the video stream once; yield, per decoded frame, the frames each stage is due.

    Only frames some stage wants are yielded, keyed by stage name. ``on_position`` gets
    every decoded frame's time in ms (for progress).

    Raises:
        MediaError: the file cannot be opened or decoding fails part-way.
    """
    import av

    due = dict.fromkeys(requests, -1)
    fallback_step = 1000.0 / info.fps if info.fps > 0 else 40.0
    with _open(info.path) as container:
        stream = container.streams.video[0]
        index = -1
        try:
            for frame in container.decode(stream):
                index += 1
                time_ms = (
                    round(frame.time * 1000)
                    if frame.time is not None
                    else int(index * fallback_step)
                )
                if on_position is not None:
                    on_position(time_ms)
                wanted = [name for name, at in due.items() if time_ms >= at]
                if not wanted:
                    continue
                converted: dict[int | None, tuple[Any, float]] = {}
                out: dict[str, SampledFrame] = {}
                for name in wanted:
                    request = requests[name]
                    # The next sample is due one interval after this one was due (not after
                    # this frame's time), so sampling does not drift late at every step.
                    step = request.interval_ms
                    following = max(due[name], 0) + step
                    due[name] = (
                        (following if following > time_ms else time_ms + step) if step else 0
                    )
                    if request.max_side not in converted:
                        w, h, scale = _target_size(frame.width, frame.height, request.max_side)
                        image = frame.to_ndarray(format="rgb24", width=w, height=h)
                        converted[request.max_side] = (image, scale)
                    image, scale = converted[request.max_side]
                    out[name] = SampledFrame(index, max(0, time_ms), image, scale)
                yield out
        except av.FFmpegError as exc:
            raise MediaError(f"{info.path}: decoding failed after frame {index}: {exc}") from None


def extract_audio(info: MediaInfo) -> npt.NDArray[np.float32] | None:
    """The whole audio track as 16 kHz mono float32 in [-1, 1], or None without audio.

    Raises:
        MediaError: the file cannot be opened or the audio cannot be decoded.
    """
    if not info.has_audio:
        return None
    import av
    import numpy as np

    chunks: list[npt.NDArray[np.float32]] = []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    with _open(info.path) as container:
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
            for out in resampler.resample(None):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
        except av.FFmpegError as exc:
            raise MediaError(f"{info.path}: decoding the audio failed: {exc}") from None
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)
