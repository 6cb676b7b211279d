"""WebVTT and SubRip text from timed cues: the formats video players load beside a video.

Written here rather than with a library: the two formats need a timestamp formatter, an
escaping rule and a blank-line rule each, and a library would add a dependency for that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_VTT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
ARROW = "-->"


@dataclass(frozen=True, slots=True)
class Cue:
    """One timed piece of text. ``identifier`` names the cue (WebVTT only)."""

    start_ms: int
    end_ms: int
    text: str
    identifier: str | None = None
    voice: str | None = None


def vtt_timestamp(ms: int) -> str:
    """``HH:MM:SS.mmm`` (hours grow past two digits when needed)."""
    return _clock(ms, ".")


def srt_timestamp(ms: int) -> str:
    """``HH:MM:SS,mmm``: SubRip's comma before the milliseconds."""
    return _clock(ms, ",")


def _clock(ms: int, separator: str) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def text_lines(text: str) -> list[str]:
    """The non-blank lines of ``text``: a blank line would end a cue in both formats."""
    return [line.strip() for line in _LINE_BREAK.split(text) if line.strip()]


def _span(cue: Cue) -> tuple[int, int]:
    # Both formats need the end after the start; a point in time gets one millisecond.
    return cue.start_ms, max(cue.end_ms, cue.start_ms + 1)


def webvtt(cues: Iterable[Cue], *, title: str | None = None, metadata: bool = False) -> str:
    """A WebVTT file.

    Args:
        cues: the cues, in start order.
        title: text for the header line (``WEBVTT - title``).
        metadata: the cues carry data (see :func:`metadata_text`), not captions: their
            text is written as is, without caption escaping or voices.
    """
    header = "WEBVTT" if not title else f"WEBVTT - {' '.join(text_lines(title))}"
    blocks = [header]
    for cue in cues:
        lines = text_lines(cue.text) if metadata else _caption_lines(cue)
        if not lines:
            continue
        start, end = _span(cue)
        timing = f"{vtt_timestamp(start)} {ARROW} {vtt_timestamp(end)}"
        head = [cue.identifier] if cue.identifier and _usable_identifier(cue.identifier) else []
        blocks.append("\n".join([*head, timing, *lines]))
    return "\n\n".join(blocks) + "\n"


def _caption_lines(cue: Cue) -> list[str]:
    """Cue text escaped (``&``, ``<``, ``>``), the voice as a ``<v name>`` span."""
    lines = [line.translate(_VTT_ESCAPES) for line in text_lines(cue.text)]
    voice = " ".join(text_lines(cue.voice or ""))
    if lines and voice:
        lines[0] = f"<v {voice.translate(_VTT_ESCAPES)}>{lines[0]}"
    return lines


def srt(cues: Iterable[Cue]) -> str:
    """A SubRip file: cues numbered from 1, text kept as is but for blank lines."""
    blocks: list[str] = []
    for cue in cues:
        lines = text_lines(cue.text)
        if not lines:
            continue
        start, end = _span(cue)
        timing = f"{srt_timestamp(start)} {ARROW} {srt_timestamp(end)}"
        blocks.append("\n".join([str(len(blocks) + 1), timing, *lines]))
    return "".join(f"{block}\n\n" for block in blocks)


def metadata_text(data: dict[str, Any]) -> str:
    """One-line JSON for a WebVTT metadata cue; ``-->`` inside strings is escaped.

    JSON escapes line breaks itself, and ``>`` only occurs inside strings, where
    ``\\u003e`` reads back as the same character.
    """
    return orjson.dumps(data).decode().replace(ARROW, "--\\u003e")


def _usable_identifier(identifier: str | None) -> bool:
    """An identifier is one line, without ``-->``; others are left out rather than mangled."""
    if not identifier or ARROW in identifier:
        return False
    return text_lines(identifier) == [identifier]
