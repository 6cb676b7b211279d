"""ocr_fts: on-screen text for keyword search with snippets."""

from __future__ import annotations

from eioku.projections.base import Projection

OCR_FTS = Projection(
    table="ocr_fts",
    artifact_type="ocr.text",
    versions=frozenset({1}),
    extra=lambda payload: {"text": payload["text"], "confidence": payload["confidence"]},
)
