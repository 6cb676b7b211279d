"""Tiny real media files with known content, generated with PyAV for stream/thumbnail tests.

Each second of a generated video is one solid colour from :data:`COLOURS`, so the frame at
a time is known exactly and a thumbnail can be checked by its mean colour.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageStat

from eioku.domain.videos import Video

COLOURS: tuple[tuple[int, int, int], ...] = (
    (220, 30, 30),
    (30, 200, 30),
    (30, 30, 220),
    (230, 230, 40),
)


def colour_at(ms: int) -> tuple[int, int, int]:
    """The colour shown at ``ms`` in a video made by :func:`make_video`."""
    return COLOURS[(ms // 1000) % len(COLOURS)]


def make_video(
    path: Path, seconds: int = 2, fps: int = 10, size: tuple[int, int] = (64, 48)
) -> Path:
    """Write an H.264 MP4 (MPEG-4 Part 2 when the wheel lacks x264), one colour a second.

    Keyframes come every second, so seeking is exercised, not just decoding from 0.
    """
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = fps
        for index in range(seconds * fps):
            picture = Image.new("RGB", size, colour_at(index * 1000 // fps))
            frame = av.VideoFrame.from_image(picture)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def make_audio(path: Path, seconds: int = 1, rate: int = 8000) -> Path:
    """Write an audio-only MP4 (AAC silence): a media file with no video stream."""
    samples = 1024
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        for index in range(seconds * rate // samples):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=samples)
            frame.planes[0].update(bytes(4 * samples))
            frame.sample_rate = rate
            frame.pts = index * samples
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def video_for(path: Path, video_id: str, **overrides: object) -> Video:
    """A Video row for a media file on disk (size, mtime and hash from the file)."""
    data = path.read_bytes()
    fields: dict[str, object] = {
        "video_id": video_id,
        "path": str(path),
        "filename": path.name,
        "file_size": len(data),
        "file_mtime": datetime.fromtimestamp(path.stat().st_mtime, UTC),
        "file_hash": "sha256:" + hashlib.sha256(data).hexdigest(),
        "duration_ms": None,
    }
    return Video.model_validate({**fields, **overrides})


def mean_colour(jpeg: bytes) -> tuple[float, float, float]:
    """The mean RGB of an image."""
    with Image.open(io.BytesIO(jpeg)) as image:
        red, green, blue = ImageStat.Stat(image.convert("RGB")).mean
    return red, green, blue


def close_to(actual: tuple[float, float, float], expected: tuple[int, int, int]) -> bool:
    """Whether two colours match within lossy-codec error."""
    return all(abs(a - e) <= 20 for a, e in zip(actual, expected, strict=True))
