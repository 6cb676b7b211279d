"""The artifact envelope: the one shape every analysis result is stored in (SPEC §2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from eioku.domain.errors import InvalidInput
from eioku.domain.ids import new_id
from eioku.domain.profiles import ModelProfile

INT64_MAX = 2**63 - 1


def storable_text(value: str) -> str:
    """Reject text no database can store faithfully: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


StorableText = Annotated[str, AfterValidator(storable_text)]
NonEmpty = Annotated[StorableText, Field(min_length=1, max_length=1024)]
Millis = Annotated[int, Field(ge=0, le=INT64_MAX, strict=True)]


class ArtifactEnvelope(BaseModel):
    """One time-aligned result with its full provenance.

    ``payload`` holds the JSON object as validated by the schema registry; the envelope
    itself checks only the fields it owns. ``created_at`` is None until the store sets it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: NonEmpty = Field(default_factory=new_id)
    asset_id: NonEmpty
    artifact_type: NonEmpty
    schema_version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]
    span_start_ms: Millis
    span_end_ms: Millis
    payload: dict[str, Any]
    producer: NonEmpty
    producer_version: NonEmpty
    model_profile: ModelProfile
    config_hash: NonEmpty
    input_hash: NonEmpty
    run_id: NonEmpty
    created_at: datetime | None = None

    @field_validator("created_at")
    @classmethod
    def _aware_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else require_aware(value)

    @model_validator(mode="after")
    def _span_ordered(self) -> ArtifactEnvelope:
        if self.span_end_ms < self.span_start_ms:
            raise ValueError("span_end_ms must be >= span_start_ms")
        return self


def require_aware(value: datetime) -> datetime:
    """Return ``value`` converted to UTC; naive datetimes are rejected, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must include a UTC offset")
    return value.astimezone(UTC)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Flatten pydantic errors into ``[{"field": "a.b", "message": ...}]`` for clients."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "(root)",
            "message": str(error["msg"]).removeprefix("Value error, "),
        }
        for error in exc.errors(include_url=False)
    ]


def parse_envelope(data: Mapping[str, Any]) -> ArtifactEnvelope:
    """Build an envelope from untrusted data (JSON files, HTTP bodies).

    Raises:
        InvalidInput: with ``details["errors"]`` naming every bad field.
    """
    try:
        return ArtifactEnvelope.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        first = errors[0]
        raise InvalidInput(
            f"invalid artifact: {first['field']}: {first['message']}",
            details={"errors": errors},
        ) from exc
