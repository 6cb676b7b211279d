"""JSON Lines import and export of videos, runs, artifacts and selection policies (SPEC §4).

Each line is ``{"record": kind, ...}`` with the SPEC's column names: the record kind first,
then the fields in their model's declaration order; times are ISO 8601 with offset. The
export order is fixed so that export -> import into an empty database -> export is
byte-identical on either engine:

1. videos by video_id;
2. runs by (asset_id, started_at, run_id);
3. artifacts per video (video_id order), per artifact_type (alphabetical), by
   (span_start_ms, artifact_id);
4. selection policies by (asset_id, artifact_type), without ``updated_at`` (the store
   stamps it when a policy is written).

Import checks every line before it writes anything, then applies videos, runs, artifacts
and selections in that order, whatever the order of the lines, in one unit of work.
"""

from __future__ import annotations

from eioku.storage.exchange.exporting import ExportFilter, export_records
from eioku.storage.exchange.importing import BATCH, import_records
from eioku.storage.exchange.records import (
    RECORD_KINDS,
    Counts,
    SelectionRecord,
    dumps_line,
    envelope_record,
)

__all__ = [
    "BATCH",
    "RECORD_KINDS",
    "Counts",
    "ExportFilter",
    "SelectionRecord",
    "dumps_line",
    "envelope_record",
    "export_records",
    "import_records",
]
