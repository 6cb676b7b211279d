"""The artifact envelope accepts exactly the values SPEC §2 allows, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from eioku.domain.envelope import INT64_MAX, ArtifactEnvelope, parse_envelope
from eioku.domain.errors import InvalidInput
from eioku.domain.profiles import ModelProfile

TEXT_FIELDS = (
    "artifact_id",
    "asset_id",
    "artifact_type",
    "producer",
    "producer_version",
    "config_hash",
    "input_hash",
    "run_id",
)
REQUIRED_FIELDS = (
    *TEXT_FIELDS[1:],
    "schema_version",
    "span_start_ms",
    "span_end_ms",
    "payload",
    "model_profile",
)


def valid_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "artifact_id": "a-1",
        "asset_id": "video-1",
        "artifact_type": "scene",
        "schema_version": 1,
        "span_start_ms": 100,
        "span_end_ms": 200,
        "payload": {"scene_index": 0, "method": "content", "score": 1.0, "frame_number": 3},
        "producer": "pyscenedetect",
        "producer_version": "0.6.4",
        "model_profile": "fast",
        "config_hash": "cfg",
        "input_hash": "sha256:abc",
        "run_id": "run-1",
    }
    return {**fields, **overrides}


def rejected_fields(data: dict[str, Any]) -> set[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_envelope(data)
    assert caught.value.details is not None
    return {error["field"].split(".")[0] for error in caught.value.details["errors"]}


def storable(value: str) -> bool:
    if not 1 <= len(value) <= 1024 or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_valid_envelope_is_accepted_with_created_at_left_to_the_store() -> None:
    envelope = parse_envelope(valid_fields())
    assert envelope.model_profile is ModelProfile.FAST
    assert envelope.created_at is None


def test_artifact_id_defaults_to_a_fresh_unique_id() -> None:
    data = valid_fields()
    del data["artifact_id"]
    first, second = parse_envelope(data), parse_envelope(data)
    assert first.artifact_id != second.artifact_id
    assert len(first.artifact_id) == len(second.artifact_id) == 32


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_every_required_field_must_be_present(field: str) -> None:
    data = valid_fields()
    del data[field]
    assert field in rejected_fields(data)


@pytest.mark.parametrize("field", [*TEXT_FIELDS, *REQUIRED_FIELDS])
def test_no_field_may_be_null(field: str) -> None:
    assert field in rejected_fields(valid_fields(**{field: None}))


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", ["", "a\x00b", "\x00", "x" * 1025, "bad \ud800 surrogate"])
def test_text_fields_reject_empty_nul_overlong_and_unencodable_values(
    field: str, value: str
) -> None:
    assert field in rejected_fields(valid_fields(**{field: value}))


@given(field=st.sampled_from(TEXT_FIELDS), value=st.text(max_size=1100))
def test_text_fields_accept_exactly_the_storable_non_empty_strings(field: str, value: str) -> None:
    data = valid_fields(**{field: value})
    if storable(value):
        assert getattr(parse_envelope(data), field) == value
    else:
        assert field in rejected_fields(data)


@given(
    start=st.integers(min_value=-(2**64), max_value=2**64),
    end=st.integers(min_value=-(2**64), max_value=2**64),
)
def test_span_is_accepted_only_when_0_le_start_le_end_le_int64_max(start: int, end: int) -> None:
    data = valid_fields(span_start_ms=start, span_end_ms=end)
    if 0 <= start <= end <= INT64_MAX:
        envelope = parse_envelope(data)
        assert (envelope.span_start_ms, envelope.span_end_ms) == (start, end)
    else:
        with pytest.raises(InvalidInput):
            parse_envelope(data)


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 10), (0, -1), (10, 9), (INT64_MAX + 1, INT64_MAX + 1), (0, INT64_MAX + 1)],
)
def test_span_rejects_negative_reversed_and_beyond_int64(start: int, end: int) -> None:
    with pytest.raises(InvalidInput):
        parse_envelope(valid_fields(span_start_ms=start, span_end_ms=end))


def test_point_in_time_has_equal_start_and_end_and_int64_max_is_allowed() -> None:
    assert parse_envelope(valid_fields(span_start_ms=5, span_end_ms=5)).span_end_ms == 5
    edge = parse_envelope(valid_fields(span_start_ms=INT64_MAX, span_end_ms=INT64_MAX))
    assert edge.span_start_ms == INT64_MAX


@pytest.mark.parametrize("value", ["5", 5.0, True])
def test_span_values_must_be_real_integers(value: object) -> None:
    assert "span_start_ms" in rejected_fields(valid_fields(span_start_ms=value, span_end_ms=10))


@pytest.mark.parametrize("version", [0, -1, 2**31, "1", 1.0, True])
def test_schema_version_must_be_a_positive_int32(version: object) -> None:
    assert "schema_version" in rejected_fields(valid_fields(schema_version=version))


def test_schema_version_accepts_the_int32_range() -> None:
    assert parse_envelope(valid_fields(schema_version=2**31 - 1)).schema_version == 2**31 - 1


@pytest.mark.parametrize("profile", ["", "FAST", "medium", "best", 1])
def test_unknown_model_profile_is_rejected(profile: object) -> None:
    assert "model_profile" in rejected_fields(valid_fields(model_profile=profile))


@pytest.mark.parametrize("profile", list(ModelProfile))
def test_every_model_profile_is_accepted(profile: ModelProfile) -> None:
    assert parse_envelope(valid_fields(model_profile=profile.value)).model_profile is profile


def test_naive_created_at_is_rejected_not_guessed() -> None:
    assert "created_at" in rejected_fields(valid_fields(created_at=datetime(2026, 1, 1)))


def test_aware_created_at_is_converted_to_utc() -> None:
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    envelope = parse_envelope(valid_fields(created_at=local))
    assert envelope.created_at == local
    assert envelope.created_at is not None
    assert envelope.created_at.utcoffset() == timedelta(0)
    assert envelope.created_at.hour == 7


def test_created_at_in_iso_text_with_offset_is_accepted() -> None:
    envelope = parse_envelope(valid_fields(created_at="2026-03-01T10:00:00+01:00"))
    assert envelope.created_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("payload", [[1, 2], "text", 5])
def test_payload_must_be_a_json_object(payload: object) -> None:
    assert "payload" in rejected_fields(valid_fields(payload=payload))


def test_unknown_envelope_fields_are_rejected() -> None:
    assert "colour" in rejected_fields(valid_fields(colour="red"))


def test_invalid_input_details_name_every_bad_field() -> None:
    bad = valid_fields(asset_id="", producer="", span_start_ms=-1, model_profile="x")
    assert rejected_fields(bad) >= {"asset_id", "producer", "span_start_ms", "model_profile"}


def test_invalid_input_message_names_the_first_bad_field() -> None:
    with pytest.raises(InvalidInput, match="asset_id"):
        parse_envelope(valid_fields(asset_id=""))


def test_envelope_is_immutable() -> None:
    envelope = parse_envelope(valid_fields())
    with pytest.raises(ValidationError):
        envelope.span_start_ms = 5  # type: ignore[misc]


def test_envelope_json_round_trip_is_lossless() -> None:
    created = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    envelope = parse_envelope(valid_fields(created_at=created))
    again = ArtifactEnvelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
