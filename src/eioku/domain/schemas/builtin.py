"""The one place where every built-in payload schema is registered (SPEC §3)."""

from __future__ import annotations

from eioku.domain.schemas.faces import FaceDetectionV1
from eioku.domain.schemas.metadata import VideoMetadataV1
from eioku.domain.schemas.objects import ObjectDetectionV1
from eioku.domain.schemas.ocr import OcrTextV1
from eioku.domain.schemas.places import PlaceClassificationV1
from eioku.domain.schemas.registry import SchemaRegistry
from eioku.domain.schemas.scene import SceneV1
from eioku.domain.schemas.transcript import TranscriptSegmentV1

BUILTIN_SCHEMAS = (
    ("transcript.segment", 1, TranscriptSegmentV1),
    ("scene", 1, SceneV1),
    ("object.detection", 1, ObjectDetectionV1),
    ("face.detection", 1, FaceDetectionV1),
    ("place.classification", 1, PlaceClassificationV1),
    ("ocr.text", 1, OcrTextV1),
    ("video.metadata", 1, VideoMetadataV1),
)


def register_builtin(registry: SchemaRegistry) -> None:
    """Register the seven v1 payload schemas."""
    for artifact_type, version, model in BUILTIN_SCHEMAS:
        registry.register(artifact_type, version, model)
