"""Command-line times: milliseconds or clock forms in, ``hh:mm:ss.mmm`` out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eioku.cli.timecodes import format_ms, parse_optional, parse_time
from eioku.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("0", 0),
        ("90500", 90_500),
        (" 42 ", 42),
        ("01:30", 90_000),
        ("90:00", 5_400_000),
        ("1:02.5", 62_500),
        ("00:01:30.500", 90_500),
        ("1:00:00", 3_600_000),
        ("100:59:59.999", 363_599_999),
        ("00:00:00.05", 50),
    ],
)
def test_parse_time_accepts_millis_and_clock_forms(text: str, millis: int) -> None:
    assert parse_time(text) == millis


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-5", "must not be negative"),
        ("-00:01", "must not be negative"),
        ("", "use milliseconds"),
        ("abc", "use milliseconds"),
        ("1.5", "use milliseconds"),
        ("1:2:3:4", "use milliseconds"),
        ("00:01.5000", "use milliseconds"),
        ("١٢", "use milliseconds"),
        ("1:60", "below 60"),
        ("1:60:00", "below 60"),
        ("99999999999999999999", "too large"),
    ],
)
def test_parse_time_rejects_bad_input_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as caught:
        parse_time(text)
    assert "\n" not in caught.value.message


def test_parse_optional_passes_none_through() -> None:
    assert parse_optional(None) is None
    assert parse_optional("1:00") == 60_000


def test_format_ms_pads_every_field() -> None:
    assert format_ms(0) == "00:00:00.000"
    assert format_ms(90_500) == "00:01:30.500"
    assert format_ms(360_000_000) == "100:00:00.000"


@given(st.integers(min_value=0, max_value=10**12))
def test_format_ms_reads_back(millis: int) -> None:
    assert parse_time(format_ms(millis)) == millis
