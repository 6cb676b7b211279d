"""Times on the command line: plain milliseconds, ``mm:ss`` or ``hh:mm:ss.mmm``.

Users copy times from players (clock form) and from JSON output (milliseconds); both
are accepted, and anything else is rejected with a one-line reason rather than guessed.
"""

from __future__ import annotations

import re

from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidInput

_MILLIS = re.compile(r"\d+", re.ASCII)
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+)(?:\.(\d{1,3}))?", re.ASCII)
_FORMS = "use milliseconds (90500), mm:ss (01:30) or hh:mm:ss.mmm (00:01:30.500)"


def parse_time(text: str) -> int:
    """Milliseconds from ``text``.

    ``mm:ss`` may have any number of minutes; with hours, minutes must be below 60.
    Seconds are always below 60 and take up to three fraction digits.

    Raises:
        InvalidInput: negative, malformed or out-of-range input.
    """
    value = text.strip()
    if value.startswith("-"):
        raise InvalidInput(f"invalid time {text!r}: must not be negative")
    if _MILLIS.fullmatch(value):
        return _checked(text, int(value))
    match = _CLOCK.fullmatch(value)
    if match is None:
        raise InvalidInput(f"invalid time {text!r}: {_FORMS}")
    hours, minutes, seconds, fraction = match.groups()
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        raise InvalidInput(f"invalid time {text!r}: minutes and seconds must be below 60")
    millis = int((fraction or "0").ljust(3, "0"))
    total = ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis
    return _checked(text, total)


def _checked(text: str, millis: int) -> int:
    if millis > INT64_MAX:
        raise InvalidInput(f"invalid time {text!r}: too large")
    return millis


def parse_optional(text: str | None) -> int | None:
    """:func:`parse_time` for an option that may be absent."""
    return None if text is None else parse_time(text)


def format_ms(millis: int) -> str:
    """``hh:mm:ss.mmm``, the form :func:`parse_time` reads back."""
    seconds, ms = divmod(millis, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}:{sec:02d}.{ms:03d}"
