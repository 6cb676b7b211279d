"""Thumbnails: a JPEG of the frame nearest a time, decoded with PyAV and cached on disk.

Decoding seeks to the keyframe before the time and decodes forward, so the cost depends
on the keyframe interval, not on the position in the video. A thumbnail is a pure function
of (file content, time, width), which is what the cache key says.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidInput, ProducerUnavailable

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

MIN_WIDTH = 16
MAX_WIDTH = 1920
JPEG_QUALITY = 85


@dataclass(frozen=True, slots=True)
class ThumbnailRequest:
    """One thumbnail: which file (with the content hash that identifies it), when, how wide."""

    video_id: str
    path: Path
    file_hash: str
    at_ms: int
    width: int


def thumbnail(cache_dir: Path, request: ThumbnailRequest) -> bytes:
    """The JPEG for ``request``, from the cache when present, else rendered and cached.

    A cache that cannot be written (read-only disk, full disk) costs a re-render next
    time, never the request.

    Raises:
        InvalidInput: the file cannot be decoded or has no video stream.
        ProducerUnavailable: PyAV or Pillow is not installed.
    """
    cached = cache_path(cache_dir, request)
    try:
        return cached.read_bytes()
    except OSError:
        pass
    image = render_thumbnail(request.path, request.at_ms, request.width)
    try:
        _write_atomically(cached, image)
    except OSError as exc:
        logger.warning("cannot cache thumbnail at %s: %s", cached, exc)
    return image


def cache_path(cache_dir: Path, request: ThumbnailRequest) -> Path:
    """Where the thumbnail is cached: one folder per video, so deleting a video can drop it.

    Ids and hashes are hashed into the names: they are arbitrary text, not path-safe.
    """
    name = _digest(f"{request.file_hash}\n{request.at_ms}\n{request.width}")
    return video_cache_dir(cache_dir, request.video_id) / f"{name}.jpg"


def video_cache_dir(cache_dir: Path, video_id: str) -> Path:
    """The folder holding every cached thumbnail of one video."""
    return cache_dir / "thumbnails" / _digest(video_id)


def forget_video(cache_dir: Path, video_id: str) -> None:
    """Drop a video's cached thumbnails (after the video is deleted); missing is fine."""
    shutil.rmtree(video_cache_dir(cache_dir, video_id), ignore_errors=True)


def render_thumbnail(path: Path, at_ms: int, width: int) -> bytes:
    """A JPEG ``width`` pixels wide (aspect kept) of the frame nearest ``at_ms``.

    Times past the end give the last frame.

    Raises:
        InvalidInput: the file cannot be decoded or has no video stream.
        ProducerUnavailable: PyAV or Pillow is not installed.
    """
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise InvalidInput(f"width must be between {MIN_WIDTH} and {MAX_WIDTH}")
    try:
        import av
        import PIL.Image  # noqa: F401 - checked here, used by _jpeg
    except ImportError as exc:
        raise ProducerUnavailable(f"thumbnails need PyAV and Pillow: {exc}") from exc
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InvalidInput(f"{path.name} has no video stream")
            stream = container.streams.video[0]
            frame = _frame_near(container, stream, at_ms)
            picture: Image.Image = frame.to_image()
            aspect = stream.sample_aspect_ratio or Fraction(1)
    except av.FFmpegError as exc:
        raise InvalidInput(
            f"{path.name} cannot be decoded: {exc}", details={"path": str(path)}
        ) from exc
    return _jpeg(picture, width, aspect)


def _frame_near(container: Any, stream: Any, at_ms: int) -> Any:
    """Seek to the keyframe before ``at_ms``, decode forward, return the nearest frame.

    Of the last frame before the time and the first at or after it, the closer one wins;
    a tie goes to the later frame (the first at/after the time).
    """
    import av

    target = _target_pts(stream, at_ms)
    try:
        container.seek(target, stream=stream, backward=True, any_frame=False)
    except av.FFmpegError:  # some files cannot seek: decode from the start instead
        logger.debug("seek failed in %s; decoding from the start", container.name)
    before = None
    for frame in container.decode(stream):
        if frame.pts is None:
            before = before or frame
            continue
        if frame.pts >= target:
            if (
                before is not None
                and before.pts is not None
                and (target - before.pts < frame.pts - target)
            ):
                return before
            return frame
        before = frame
    if before is None:
        raise InvalidInput(f"{Path(container.name).name} has no decodable video frame")
    return before


def _target_pts(stream: Any, at_ms: int) -> int:
    """``at_ms`` in the stream's time base, offset by its start, clamped to int64."""
    time_base = stream.time_base or Fraction(1, 1000)
    start = stream.start_time or 0
    pts = int(Fraction(at_ms, 1000) / time_base) + start
    return max(0, min(pts, INT64_MAX))


def _jpeg(picture: Image.Image, width: int, aspect: Fraction) -> bytes:
    from PIL import Image

    display_width = picture.width * aspect
    height = max(1, round(width * picture.height / display_width))
    resized = picture.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    resized.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
