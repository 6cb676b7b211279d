"""The exchange file's record shapes and line encoding, shared by import and export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from eioku.domain.envelope import ArtifactEnvelope, NonEmpty
from eioku.domain.errors import EiokuError, InvalidInput
from eioku.domain.profiles import ModelProfile
from eioku.domain.selection import SelectionMode, SelectionPolicy, make_policy

RECORD_KINDS = ("video", "run", "artifact", "selection")

Counts = dict[str, int]
Record = dict[str, Any]


class SelectionRecord(BaseModel):
    """A stored selection policy as it appears in an exchange file (no ``updated_at``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset_id: NonEmpty
    artifact_type: NonEmpty
    selection_mode: SelectionMode
    preferred_profile: ModelProfile | None = None
    pinned_run_id: NonEmpty | None = None
    pinned_artifact_id: NonEmpty | None = None

    def policy(self) -> SelectionPolicy:
        """The policy this record stores.

        Raises:
            InvalidQuery: the record is incomplete (a profile mode without a profile...).
        """
        return make_policy(
            self.selection_mode,
            profile=self.preferred_profile,
            run_id=self.pinned_run_id,
            artifact_id=self.pinned_artifact_id,
        )


def envelope_record(envelope: ArtifactEnvelope) -> Record:
    """An artifact as a JSON-ready mapping, keys in envelope field order."""
    return envelope.model_dump()


def dumps_line(kind: str, record: Mapping[str, Any]) -> bytes:
    """One exchange line, ``record`` key first, newline included.

    orjson writes aware datetimes as ISO 8601 with ``+00:00`` and enums as their values,
    deterministically, which the byte-identical round trip relies on.
    """
    return orjson.dumps({"record": kind, **record}) + b"\n"


def line_error(
    number: int, name: str | None, message: str, kind: type[EiokuError] = InvalidInput
) -> EiokuError:
    """An error of ``kind`` whose message says which line (and field) is wrong."""
    prefix = f"line {number}: " + (f"{name}: " if name else "")
    return kind(prefix + message, details={"line": number, "field": name})


def first_field_error(number: int, errors: list[dict[str, Any]]) -> EiokuError:
    """The first of pydantic's flattened field errors, as a line error."""
    first = errors[0]
    name = None if first["field"] == "(root)" else str(first["field"])
    return line_error(number, name, str(first["message"]).removeprefix("Value error, "))
