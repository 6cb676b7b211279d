"""``eioku demo-video``: write a video with known content to try Eioku on, or to benchmark it.

No database is involved: the command only makes media (shots, captions, a face, speech).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from eioku.cli import app, stdout_console
from eioku.domain.errors import InvalidInput
from eioku.media.synthetic import make_demo_video

_SIZE = re.compile(r"(\d+)x(\d+)", re.ASCII)


def parse_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` as a pair of ints.

    Raises:
        InvalidInput: anything else.
    """
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None:
        raise InvalidInput(f"invalid size {text!r}: use WIDTHxHEIGHT, e.g. 1280x720")
    return int(match.group(1)), int(match.group(2))


@app.command("demo-video")
def demo_video(
    path: Annotated[Path, typer.Argument(help="Where to write the MP4.", show_default=False)],
    minutes: Annotated[float, typer.Option("--minutes", help="Length in minutes.")] = 0.5,
    size: Annotated[str, typer.Option("--size", help="Frame size, WIDTHxHEIGHT.")] = "1280x720",
    fps: Annotated[int, typer.Option("--fps", help="Frames per second.")] = 25,
) -> None:
    """Write the demo video: shots with captions, a face and spoken sentences.

    Everything in it is known in advance (cut times, caption text, what is said and
    when), so processing it shows what each stage finds.
    """
    video = make_demo_video(path, minutes, size=parse_size(size), fps=fps)
    width, height = video.size
    stdout_console().print(
        f"wrote {video.path}: {video.duration_ms / 1000:.1f} s, {width}x{height} at "
        f"{video.fps} fps, {_count(len(video.shots), 'shot')} "
        f"({_count(len(video.cut_times_ms), 'cut')}), "
        f"{_count(len(video.utterances), 'utterance')}",
        soft_wrap=True,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
