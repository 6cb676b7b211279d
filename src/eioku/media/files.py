"""Where a video's media file is and what content type to serve it as."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from eioku.domain.errors import NotFound
from eioku.domain.videos import Video

# By extension: the platform's mimetypes table misses most video containers (mkv, flv, ts
# ...) or varies between systems, and browsers pick a player by this header.
VIDEO_TYPES: dict[str, str] = {
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".mov": "video/quicktime",
    ".qt": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".mpeg": "video/mpeg",
    ".mpg": "video/mpeg",
    ".mpe": "video/mpeg",
    ".m2v": "video/mpeg",
    ".vob": "video/mpeg",
    ".ts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mts": "video/mp2t",
    ".3gp": "video/3gpp",
    ".3g2": "video/3gpp2",
    ".wmv": "video/x-ms-wmv",
    ".asf": "video/x-ms-asf",
    ".flv": "video/x-flv",
    ".ogv": "video/ogg",
    ".dv": "video/x-dv",
    ".mxf": "application/mxf",
}
FALLBACK_TYPE = "application/octet-stream"


def media_type(path: str | Path) -> str:
    """The Content-Type to serve a media file as, from its extension (case-insensitive)."""
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_TYPES:
        return VIDEO_TYPES[suffix]
    guessed, _encoding = mimetypes.guess_type(f"file{suffix}", strict=False)
    return guessed or FALLBACK_TYPE


def media_file(video: Video) -> Path:
    """The video's file, checked to exist as a regular file.

    Raises:
        NotFound: the file was moved or deleted since the video was registered.
    """
    path = Path(video.path)
    try:
        found = path.is_file()
    except OSError:  # a name too long or a permission error: unusable all the same
        found = False
    if not found:
        raise NotFound(
            f"the media file of video {video.video_id} is missing on disk: {video.path}",
            details={"video_id": video.video_id, "path": video.path},
        )
    return path
