"""The ``metadata`` stage: one ``video.metadata`` artifact from the container (PyAV)."""

from __future__ import annotations

from typing import Any

from eioku.media.decode import MediaInfo
from eioku.pipeline.stage import ContainerStage, Finding


class MetadataStage(ContainerStage):
    """Duration, size, codecs, recording time, GPS and camera from the container's tags."""

    name = "metadata"
    artifact_type = "video.metadata"

    @property
    def producer(self) -> str:
        return "pyav"

    @property
    def producer_version(self) -> str:
        import av

        return str(av.__version__)

    def config(self) -> dict[str, Any]:
        return {"fields": 1}

    def run(self, info: MediaInfo) -> list[Finding]:
        lat, lon, alt = info.gps if info.gps is not None else (None, None, None)
        payload: dict[str, Any] = {
            "duration_ms": info.duration_ms,
            "width": info.width,
            "height": info.height,
            "fps": round(info.fps, 6),
            "video_codec": info.video_codec or "unknown",
            "audio_codec": info.audio_codec,
            "container": info.container,
            "file_size": info.file_size,
            "recorded_at": None if info.recorded_at is None else info.recorded_at.isoformat(),
            "gps_latitude": lat,
            "gps_longitude": lon,
            "gps_altitude": alt,
            "camera_make": info.camera_make,
            "camera_model": info.camera_model,
        }
        return [Finding(0, info.duration_ms, payload)]
