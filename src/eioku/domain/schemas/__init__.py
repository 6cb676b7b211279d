"""Payload schemas, versioned by name (``TranscriptSegmentV1``), and their registry."""

from eioku.domain.schemas.registry import SchemaRegistry

__all__ = ["SchemaRegistry"]
