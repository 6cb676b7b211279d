"""transcript_fts: speech text for keyword search with snippets."""

from __future__ import annotations

from eioku.projections.base import Projection

TRANSCRIPT_FTS = Projection(
    table="transcript_fts",
    artifact_type="transcript.segment",
    versions=frozenset({1}),
    extra=lambda payload: {"text": payload["text"]},
)
