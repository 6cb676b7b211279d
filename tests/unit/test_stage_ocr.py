"""The OCR stage reads generated frames with the real RapidOCR engine.

Text is drawn with Pillow's bundled font at known places, so what must be read, where, and
for how long is known exactly; reads may differ from the drawn text by one character.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from eioku.domain.profiles import ModelProfile
from eioku.domain.schemas.ocr import OcrTextV1
from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame, iter_frames, probe
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import Finding
from eioku.pipeline.stages import stage_class
from eioku.pipeline.stages.frame_changes import ChangeDetector
from eioku.pipeline.stages.ocr import PROFILES, OcrStage
from eioku.pipeline.stages.text_tracks import TextRead, TextTracker, normalise

SOURCE = (1280, 720)
Box = tuple[float, float, float, float]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    row = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, char_b in enumerate(b, 1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (char_a != char_b)),
            )
    return row[-1]


def reads_as(text: str, expected: str) -> bool:
    """Whether OCR output matches the drawn text up to case, spaces and one character."""
    return edit_distance(normalise(text), normalise(expected)) <= 1


def slide(caption: str | None = None, at: tuple[int, int] = (120, 140)) -> tuple[Image.Image, Box]:
    """A 720p slide with a patterned background and optionally a large caption.

    Returns:
        The picture and the caption's box (x0, y0, x1, y1) in its pixels.
    """
    image = Image.new("RGB", SOURCE, (236, 236, 228))
    draw = ImageDraw.Draw(image)
    for x in range(-400, SOURCE[0], 80):
        draw.line((x, SOURCE[1], x + 400, 0), fill=(205, 215, 232), width=6)
    draw.ellipse((900, 420, 1180, 700), fill=(90, 140, 200))
    box: Box = (0.0, 0.0, 0.0, 0.0)
    if caption is not None:
        font = ImageFont.load_default(size=72)
        x0, y0, x1, y1 = draw.textbbox(at, caption, font=font)
        box = (float(x0), float(y0), float(x1), float(y1))
        draw.text(at, caption, font=font, fill=(0, 0, 0))
    return image, box


def sampled(image: Image.Image, index: int, time_ms: int, scale: float = 1.0) -> SampledFrame:
    """The frame the decoder would hand over for ``image`` at ``scale``."""
    if scale != 1.0:
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.BILINEAR)
    return SampledFrame(index, time_ms, np.asarray(image, dtype=np.uint8), scale)


def bounds(payload: dict[str, object]) -> Box:
    points = payload["bounding_box"]
    assert isinstance(points, list)
    xs = [p["x"] for p in points]
    ys = [p["y"] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def valid(findings: list[Finding]) -> list[OcrTextV1]:
    return [OcrTextV1.model_validate(f.payload) for f in findings]


def make_stage(profile: ModelProfile, tmp_path: Path) -> OcrStage:
    stage = OcrStage(profile, ModelLibrary(tmp_path / "models"))
    stage.prepare()
    return stage


def write_video(path: Path, shots: list[tuple[int, Image.Image]], fps: int = 10) -> Path:
    """An H.264 MP4 (MPEG-4 Part 2 without x264) showing each (seconds, picture) in turn."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = SOURCE
        stream.pix_fmt = "yuv420p"
        index = 0
        for seconds, picture in shots:
            for _ in range(seconds * fps):
                frame = av.VideoFrame.from_image(picture)
                frame.pts, frame.time_base = index, Fraction(1, fps)
                container.mux(stream.encode(frame))
                index += 1
        container.mux(stream.encode(None))
    return path


def media(duration_ms: int) -> MediaInfo:
    """What probing a 720p video of that length would say."""
    return MediaInfo(
        path=Path("generated.mp4"),
        container="mp4",
        file_size=1,
        duration_ms=duration_ms,
        has_video=True,
        width=SOURCE[0],
        height=SOURCE[1],
        fps=25.0,
    )


def test_stage_is_registered_as_ocr() -> None:
    assert stage_class("ocr") is OcrStage
    assert OcrStage.artifact_type == "ocr.text"


def test_profiles_trade_frame_size_and_rate_for_speed(tmp_path: Path) -> None:
    fast, balanced, high = (PROFILES[p] for p in ModelProfile)
    assert fast.max_side < balanced.max_side < high.max_side
    assert fast.interval_ms > balanced.interval_ms > high.interval_ms
    configs = [OcrStage(p, ModelLibrary(tmp_path)).config() for p in ModelProfile]
    assert len({str(sorted(c.items())) for c in configs}) == 3
    stage = OcrStage(ModelProfile.FAST, ModelLibrary(tmp_path))
    request = stage.frame_request(media(5000))
    assert request == FrameRequest(fast.interval_ms, fast.max_side)
    (status,) = stage.model_status()
    assert status.available


def test_reads_caption_with_box_in_source_pixels(tmp_path: Path) -> None:
    stage = make_stage(ModelProfile.FAST, tmp_path)
    picture, drawn = slide("INVOICE 2024")
    reads = stage.read(sampled(picture, 0, 0, scale=0.5))
    matches = [r for r in reads if reads_as(r.text, "INVOICE 2024")]
    assert len(matches) == 1, [r.text for r in reads]
    assert overlap(matches[0].rect, drawn) > 0.5, (matches[0].rect, drawn)
    assert stage.engine_calls == 1


def panel(caption: str) -> Image.Image:
    """A bold 54 px caption on a tight white panel over a dark background (news style)."""
    image = Image.new("RGB", SOURCE, (40, 60, 110))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=54)
    left, top, right, bottom = draw.textbbox((400, 60), caption, font=font, stroke_width=2)
    draw.rectangle((left - 14, top - 14, right + 14, bottom + 14), fill=(255, 255, 255))
    draw.text((400, 60), caption, font=font, fill=(0, 0, 0), stroke_width=2)
    return image


@pytest.mark.parametrize("profile", [ModelProfile.FAST, ModelProfile.BALANCED])
def test_words_stay_apart_for_full_text_search(profile: ModelProfile, tmp_path: Path) -> None:
    stage = make_stage(profile, tmp_path)
    scale = stage.settings.max_side / SOURCE[0]
    for caption in ("QUARTERLY REPORT", "BUDGET MEETING"):
        (found,) = stage.read(sampled(panel(caption), 0, 0, scale))
        words = found.text.split()
        assert len(words) == len(caption.split()), found.text
        assert all(reads_as(a, b) for a, b in zip(words, caption.split(), strict=True))


def test_unchanged_frames_are_not_read_again(tmp_path: Path) -> None:
    stage = make_stage(ModelProfile.FAST, tmp_path)
    picture, _ = slide("INVOICE 2024")
    for index in range(5):
        stage.on_frame(sampled(picture, index * 25, index * 1000, scale=0.5))
    findings = stage.finish(media(10_000))
    assert (stage.frames_seen, stage.engine_calls) == (5, 1)
    (found,) = [f for f in findings if reads_as(f.payload["text"], "INVOICE 2024")]
    assert (found.span_start_ms, found.span_end_ms) == (0, 5000)
    assert found.payload["frame_number"] == 0
    valid(findings)


def with_square(picture: Image.Image, x: int, y: int, side: int = 60) -> Image.Image:
    """A copy of ``picture`` with a dark red square at (x, y)."""
    copy = picture.copy()
    ImageDraw.Draw(copy).rectangle((x, y, x + side, y + side), fill=(150, 20, 20))
    return copy


def test_only_the_part_that_changed_is_read_again(tmp_path: Path) -> None:
    stage = make_stage(ModelProfile.FAST, tmp_path)
    picture, _ = slide("INVOICE 2024")
    for index in range(4):  # a square slides along the bottom edge, far from the caption
        moved = with_square(picture, 100 + 200 * index, 640)
        stage.on_frame(sampled(moved, index * 25, index * 1000, scale=0.5))
    full = 640 * 360
    assert stage.engine_calls == 4
    assert stage.pixels_read < full + 3 * full // 4  # three reads of a strip, not of frames
    (found,) = stage.finish(media(4000))
    assert reads_as(found.payload["text"], "INVOICE 2024")
    assert (found.span_start_ms, found.span_end_ms) == (0, 4000)


def test_a_change_touching_a_caption_rereads_all_of_it(tmp_path: Path) -> None:
    stage = make_stage(ModelProfile.FAST, tmp_path)
    picture, drawn = slide("INVOICE 2024")
    right, bottom = int(drawn[2]), int(drawn[3])
    for index in range(3):  # a square moves under the caption's last letters
        moved = with_square(picture, right - 150 + 40 * index, bottom + 4, side=40)
        stage.on_frame(sampled(moved, index * 25, index * 1000, scale=0.5))
    findings = stage.finish(media(3000))
    assert stage.engine_calls == 3
    assert [reads_as(f.payload["text"], "INVOICE 2024") for f in findings] == [True]
    assert (findings[0].span_start_ms, findings[0].span_end_ms) == (0, 3000)


def test_change_detector_finds_the_changed_part() -> None:
    changes = ChangeDetector(level=10)
    picture, _ = slide()
    image = np.asarray(picture)
    assert changes.changed(image, []) == (0, 0, 1280, 720)
    changes.processed((0, 0, 1280, 720), 1280, 720)
    assert changes.changed(image, []) is None
    moved = np.asarray(with_square(picture, 600, 300, side=30))
    region = changes.changed(moved, [])
    assert region is not None
    x0, y0, x1, y1 = region
    assert x0 <= 600
    assert y0 <= 300
    assert x1 >= 630
    assert y1 >= 330
    assert (x1 - x0) * (y1 - y0) < 1280 * 720 / 20
    grown = changes.changed(moved, [(500.0, 290.0, 610.0, 310.0)])
    assert grown is not None
    assert grown[0] < 500
    changes.processed(region, 1280, 720)
    assert changes.changed(moved, []) is None


def test_frames_without_text_give_no_findings(tmp_path: Path) -> None:
    stage = make_stage(ModelProfile.BALANCED, tmp_path)
    for index, colour in enumerate([(20, 30, 40), (200, 180, 40), (30, 160, 90)]):
        picture, _ = slide()
        ImageDraw.Draw(picture).rectangle((0, 0, 600, 720), fill=colour)
        stage.on_frame(sampled(picture, index * 12, index * 500, scale=0.75))
    assert stage.engine_calls == 3
    assert stage.finish(media(1500)) == []


def test_video_captions_become_one_artifact_per_appearance(tmp_path: Path) -> None:
    """Blank 0-2 s, INVOICE 2-5 s, blank 5-6 s, PROJECT ALPHA 6-9 s, read at one frame a second."""
    blank, _ = slide()
    invoice, invoice_box = slide("INVOICE 2024")
    project, project_box = slide("PROJECT ALPHA", at=(300, 420))
    path = write_video(
        tmp_path / "captions.mp4", [(2, blank), (3, invoice), (1, blank), (3, project)]
    )
    info = probe(path)
    stage = make_stage(ModelProfile.FAST, tmp_path)
    request = stage.frame_request(info)
    for frames in iter_frames(info, {"ocr": request}):
        stage.on_frame(frames["ocr"])
    findings = stage.finish(info)

    payloads = valid(findings)
    assert len(findings) == 2, [(f.span_start_ms, f.span_end_ms, f.payload) for f in findings]
    first, second = findings
    assert reads_as(payloads[0].text, "INVOICE 2024")
    assert reads_as(payloads[1].text, "PROJECT ALPHA")
    interval = request.interval_ms
    assert abs(first.span_start_ms - 2000) <= interval
    assert abs(first.span_end_ms - 5000) <= interval
    assert abs(second.span_start_ms - 6000) <= interval
    assert abs(second.span_end_ms - 9000) <= interval
    assert second.span_end_ms <= info.duration_ms
    assert payloads[0].frame_number == first.span_start_ms // 100  # 10 fps
    assert overlap(bounds(first.payload), invoice_box) > 0.5
    assert overlap(bounds(second.payload), project_box) > 0.5
    # Read: the first frame and the three changes; the unchanged frames were skipped.
    assert stage.frames_seen == 9
    assert stage.engine_calls == 4


def line(text: str, x: float, confidence: float = 0.9) -> TextRead:
    """A read of ``text`` in a 100x30 box at ``x``."""
    return TextRead(text, confidence, ((x, 10.0), (x + 100, 10.0), (x + 100, 40.0), (x, 40.0)))


def test_tracker_bridges_one_missed_read() -> None:
    tracker = TextTracker(interval_ms=500)
    tracker.read(0, 0, [line("Hello world", 0)])
    tracker.read(500, 12, [])
    tracker.read(1000, 25, [line("hello  World", 2)])
    tracker.unchanged(1500)
    (found,) = tracker.finish(duration_ms=10_000)
    assert (found.span_start_ms, found.span_end_ms) == (0, 2000)


def test_tracker_closes_text_missed_twice_at_the_first_miss() -> None:
    tracker = TextTracker(interval_ms=500)
    tracker.read(0, 0, [line("Hello", 0)])
    tracker.unchanged(500)
    tracker.read(1000, 25, [])
    tracker.read(1500, 37, [])
    assert tracker.rects == []
    (found,) = tracker.finish(duration_ms=10_000)
    assert (found.span_start_ms, found.span_end_ms) == (0, 1000)


def test_tracker_merges_near_reads_and_keeps_the_most_confident() -> None:
    tracker = TextTracker(interval_ms=1000)
    tracker.read(0, 0, [line("INVOlCE 2024", 0, confidence=0.7)])
    tracker.read(1000, 30, [line("INVOICE 2024", 3, confidence=0.9)])
    (found,) = tracker.finish(duration_ms=1500)
    assert found.payload["text"] == "INVOICE 2024"
    assert found.payload["confidence"] == pytest.approx(0.8)  # the mean over the reads
    assert found.payload["bounding_box"][0] == {"x": 3, "y": 10}
    assert found.payload["frame_number"] == 0
    assert (found.span_start_ms, found.span_end_ms) == (0, 1500)  # clipped to the video


def test_tracker_never_merges_texts_with_different_digits() -> None:
    tracker = TextTracker(interval_ms=1000)
    tracker.read(0, 0, [line("Page 11 of 40", 0)])
    tracker.read(1000, 30, [line("Page 12 of 40", 0)])
    findings = tracker.finish(duration_ms=2000)
    assert [f.payload["text"] for f in findings] == ["Page 11 of 40", "Page 12 of 40"]


def test_tracker_revives_a_missed_track_only_with_the_same_text() -> None:
    tracker = TextTracker(interval_ms=1000)
    tracker.read(0, 0, [line("Episode one", 0)])
    tracker.read(1000, 30, [])
    tracker.read(2000, 60, [line("Episode onee", 0)])
    findings = tracker.finish(duration_ms=3000)
    assert [(f.span_start_ms, f.span_end_ms) for f in findings] == [(0, 1000), (2000, 3000)]


def test_tracker_follows_text_that_moves() -> None:
    tracker = TextTracker(interval_ms=1000)
    for step in range(4):
        tracker.read(step * 1000, step * 30, [line("Directed by", step * 300.0)])
    (found,) = tracker.finish(duration_ms=4000)
    assert (found.span_start_ms, found.span_end_ms) == (0, 4000)


def test_tracker_keeps_equal_texts_in_different_places_apart() -> None:
    tracker = TextTracker(interval_ms=1000)
    tracker.read(0, 0, [line("SALE", 0), line("SALE", 600)])
    tracker.read(1000, 30, [line("SALE", 602), line("SALE", 1)])
    tracker.read(2000, 60, [line("SALE", 601)])
    left, right = sorted(tracker.finish(duration_ms=9000), key=lambda f: f.span_end_ms)
    assert bounds(left.payload)[0] < 10
    assert (left.span_start_ms, left.span_end_ms) == (0, 2000)
    assert (right.span_start_ms, right.span_end_ms) == (0, 3000)


def test_tracker_starts_a_new_track_for_different_text() -> None:
    tracker = TextTracker(interval_ms=1000)
    tracker.read(0, 0, [line("Chapter one", 0)])
    tracker.read(1000, 30, [line("Chapter two", 0)])
    tracker.read(2000, 60, [line("Chapter two", 0)])
    findings = tracker.finish(duration_ms=3000)
    assert [(f.payload["text"], f.span_start_ms, f.span_end_ms) for f in findings] == [
        ("Chapter one", 0, 1000),
        ("Chapter two", 1000, 3000),
    ]
