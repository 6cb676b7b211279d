"""The demo/test media generator: what it writes is exactly what it says it wrote.

Checked with the real engines the pipeline uses: PyAV to decode, dlib's HOG detector for the
face, RapidOCR for a caption, and the audio's energy for where speech was placed.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from eioku.cli import app
from eioku.domain.errors import InvalidInput
from eioku.media.decode import FrameRequest, extract_audio, iter_frames, probe
from eioku.media.synthetic import (
    AUDIO_RATE,
    MIN_CUT_CONTRAST,
    ShotSpec,
    SyntheticVideo,
    demo_script,
    make_video,
    speak,
)
from tests.cli.conftest import user_error
from tests.media import close_to

RED, BLUE, YELLOW = (220, 30, 30), (30, 30, 220), (245, 225, 60)
SHOTS = (
    ShotSpec(1000, RED),
    ShotSpec(1500, BLUE, face=True),
    ShotSpec(1500, YELLOW, caption="INVOICE 2024", motion=True),
)
SPEECH = ((200, "Invoice."), (2000, "Budget meeting."))


def write_small(path: Path) -> SyntheticVideo:
    """Three shots at 640x360: red, blue with the face, yellow with a moving caption shot."""
    return make_video(path, shots=SHOTS, speech=SPEECH, size=(640, 360), fps=25)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SyntheticVideo:
    return write_small(tmp_path_factory.mktemp("synthetic") / "small.mp4")


def frames_by_time(video: SyntheticVideo, max_side: int | None = None) -> dict[int, np.ndarray]:
    """Every decoded frame of ``video``, keyed by its time in ms."""
    info = probe(video.path)
    request = {"all": FrameRequest(0, max_side)}
    return {d["all"].time_ms: d["all"].image for d in iter_frames(info, request)}


def edge_colour(image: npt.NDArray[np.uint8]) -> tuple[float, float, float]:
    """Mean colour of a patch on the left edge, half-way down (never under text or face)."""
    height = image.shape[0]
    patch = image[height // 2 - 8 : height // 2 + 8, 2:18].reshape(-1, 3).mean(axis=0)
    return float(patch[0]), float(patch[1]), float(patch[2])


def faces(image: npt.NDArray[np.uint8], upsample: int) -> list[tuple[int, int, int, int]]:
    import dlib

    detector = dlib.get_frontal_face_detector()
    return [(d.left(), d.top(), d.width(), d.height()) for d in detector(image, upsample)]


def rms(samples: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


# -- speech ------------------------------------------------------------------------------


def test_speak_returns_16k_mono_float_speech_of_plausible_length() -> None:
    samples = speak("Please pay the invoice before the end of the month.")
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    seconds = len(samples) / AUDIO_RATE
    assert 2.0 < seconds < 6.0  # ten words at 150 words per minute, plus pauses
    assert 0.2 < float(np.abs(samples).max()) <= 1.0
    assert rms(samples) > 0.02


def test_speak_is_deterministic_and_follows_the_rate() -> None:
    text = "The dog learned a new trick."
    assert np.array_equal(speak(text), speak(text))
    assert len(speak(text, rate_wpm=300)) < 0.7 * len(speak(text, rate_wpm=120))


def test_speak_returns_a_private_copy() -> None:
    first = speak("Budget meeting.")
    first[:] = 0
    assert np.abs(speak("Budget meeting.")).max() > 0.1


@pytest.mark.parametrize(("text", "rate"), [("   ", 150), ("hello", 20), ("hello", 1000)])
def test_speak_rejects_empty_text_and_absurd_rates(text: str, rate: int) -> None:
    with pytest.raises(InvalidInput):
        speak(text, rate_wpm=rate)


# -- the written file --------------------------------------------------------------------


def test_video_probes_to_its_size_rate_duration_and_has_audio(small: SyntheticVideo) -> None:
    info = probe(small.path)
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(25.0)
    assert small.duration_ms == 4000
    assert abs(info.duration_ms - 4000) <= 40  # one frame
    assert info.frame_count == 100
    assert info.has_audio
    assert info.video_codec in {"h264", "mpeg4"}
    assert info.audio_codec == "aac"


def test_shots_and_cuts_are_reported_as_written(small: SyntheticVideo) -> None:
    assert [(s.start_ms, s.end_ms) for s in small.shots] == [(0, 1000), (1000, 2500), (2500, 4000)]
    assert small.cut_times_ms == (1000, 2500)
    assert [s.face for s in small.shots] == [False, True, False]
    assert [s.caption for s in small.shots] == [None, None, "INVOICE 2024"]
    assert small.shots[2].caption_box is not None
    assert small.shots[1].face_box is not None
    assert small.shots[0].caption_box is None
    assert small.shots[0].face_box is None


def test_every_frame_shows_its_shot_background_so_cuts_are_hard(small: SyntheticVideo) -> None:
    frames = frames_by_time(small)
    assert len(frames) == 100
    for time_ms, image in frames.items():
        expected = small.shot_at(time_ms).background()
        assert close_to(edge_colour(image), expected), (time_ms, edge_colour(image), expected)


def test_motion_changes_frames_within_a_shot_and_stills_do_not(small: SyntheticVideo) -> None:
    frames = frames_by_time(small)
    still = [frames[t].astype(np.int16) for t in (1200, 2000)]
    moving = [frames[t].astype(np.int16) for t in (2800, 3600)]
    assert np.abs(still[0] - still[1]).mean() < 1.0
    assert np.abs(moving[0] - moving[1]).max() > 100  # the square moved


def test_speech_is_heard_only_where_it_was_placed(small: SyntheticVideo) -> None:
    audio = extract_audio(probe(small.path))
    assert audio is not None
    assert abs(len(audio) / AUDIO_RATE - 4.0) < 0.1
    assert [u.text for u in small.utterances] == ["Invoice.", "Budget meeting."]

    def window(start_ms: int, end_ms: int) -> npt.NDArray[np.float32]:
        return audio[start_ms * AUDIO_RATE // 1000 : end_ms * AUDIO_RATE // 1000]

    silence = max(rms(window(0, 150)), rms(window(1000, 1950)), rms(window(3050, 4000)))
    for utterance in small.utterances:
        assert utterance.end_ms > utterance.start_ms
        assert rms(window(utterance.start_ms, utterance.end_ms)) > 20 * max(silence, 1e-4)


def test_the_face_is_found_by_dlib_in_face_shots_only(small: SyntheticVideo) -> None:
    frames = frames_by_time(small)
    box = small.shots[1].face_box
    assert box is not None
    found = faces(frames[1600], upsample=1)
    assert len(found) == 1
    x, y, w, h = found[0]
    assert box[0] <= x + w / 2 <= box[0] + box[2]
    assert box[1] <= y + h / 2 <= box[1] + box[3]
    for time_ms in (400, 3000):
        assert faces(frames[time_ms], upsample=1) == []


def test_same_inputs_write_the_same_file(small: SyntheticVideo, tmp_path: Path) -> None:
    again = write_small(tmp_path / "again.mp4")
    assert again == SyntheticVideo(
        again.path, small.duration_ms, small.size, small.fps, small.shots, small.utterances
    )
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (small.path, again.path)]
    assert digest[0] == digest[1]


def test_720p_face_is_big_enough_and_the_caption_reads_at_ocr_size(tmp_path: Path) -> None:
    from rapidocr_onnxruntime import RapidOCR

    shots = [ShotSpec(400, BLUE, caption="INVOICE 2024", face=True), ShotSpec(400, YELLOW)]
    video = make_video(tmp_path / "hd.mp4", shots=shots, size=(1280, 720))
    info = probe(video.path)
    assert (info.width, info.height) == (1280, 720)
    frames = frames_by_time(video)
    found = faces(frames[200], upsample=0)
    assert len(found) == 1
    assert found[0][3] >= 150
    caption_box = video.shots[0].caption_box
    assert caption_box is not None
    assert 50 <= caption_box[3] <= 90  # ~40-60 px letters on a padded panel
    # The OCR stage reads 720p frames at 640x360; the caption must survive that.
    small_frame = frames_by_time(video, max_side=640)[200]
    lines, _ = RapidOCR()(small_frame)
    texts = [text.replace(" ", "") for _, text, _ in lines or []]
    assert "INVOICE2024" in texts


# -- refusing what cannot be made ----------------------------------------------------------


@pytest.mark.parametrize(
    ("shots", "speech", "size", "message"),
    [
        ([], [], (320, 240), "at least one shot"),
        ([ShotSpec(1000, RED), ShotSpec(1000, (200, 40, 40))], [], (320, 240), "too close"),
        ([ShotSpec(1010, RED), ShotSpec(20, BLUE)], [], (320, 240), "too short"),
        ([ShotSpec(1000, RED)], [(600, "A much too long sentence.")], (320, 240), "past the end"),
        ([ShotSpec(3000, RED)], [(0, "Hello there."), (300, "Hi.")], (320, 240), "before"),
        ([ShotSpec(1000, RED)], [], (321, 240), "even numbers"),
        ([ShotSpec(1000, RED, caption="X" * 80)], [], (320, 240), "too long"),
    ],
)
def test_make_video_refuses_ambiguous_or_impossible_content(
    tmp_path: Path,
    shots: list[ShotSpec],
    speech: list[tuple[int, str]],
    size: tuple[int, int],
    message: str,
) -> None:
    path = tmp_path / "bad.mp4"
    with pytest.raises(InvalidInput, match=message):
        make_video(path, shots=shots, speech=speech, size=size)
    assert not path.exists()


def test_make_video_refuses_a_path_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        make_video(tmp_path / "missing" / "x.mp4", shots=[ShotSpec(1000, RED)])
    with pytest.raises(InvalidInput, match="is a directory"):
        make_video(tmp_path, shots=[ShotSpec(1000, RED)])


# -- the demo story ------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [0.05, 0.5, 1.3, 10])
def test_demo_script_fills_the_time_with_clear_cuts_and_fitting_speech(minutes: float) -> None:
    shots, speech = demo_script(minutes)
    assert sum(s.duration_ms for s in shots) == round(minutes * 60_000)

    def mean(spec: ShotSpec) -> tuple[float, ...]:
        bottom = spec.colour_to or spec.colour
        return tuple((a + b) / 2 for a, b in zip(spec.colour, bottom, strict=True))

    for before, after in itertools.pairwise(shots):
        assert math.dist(mean(before), mean(after)) >= MIN_CUT_CONTRAST
    starts = [0]
    for shot in shots:
        starts.append(starts[-1] + shot.duration_ms)
    for start_ms, text in speech:
        index = max(i for i, s in enumerate(starts[:-1]) if s <= start_ms)
        spoken_ms = len(speak(text)) * 1000 / AUDIO_RATE
        assert start_ms + spoken_ms <= starts[index + 1]  # each sentence ends in its shot


def test_demo_script_has_the_distinctive_words_captions_and_faces() -> None:
    shots, speech = demo_script(1)
    words = " ".join(text for _, text in speech).lower()
    for word in ("invoice", "dog", "budget meeting"):
        assert word in words
    captions = {s.caption for s in shots}
    assert {"INVOICE 2024", "QUARTERLY REPORT"} <= captions
    assert any(s.face for s in shots)
    assert not all(s.face for s in shots)
    later, _ = demo_script(2)
    assert "INVOICE 2025" in {s.caption for s in later}


@pytest.mark.parametrize("minutes", [0.0, -1.0, math.nan, 601.0])
def test_demo_script_refuses_a_length_out_of_range(minutes: float) -> None:
    with pytest.raises(InvalidInput):
        demo_script(minutes)


# -- eioku demo-video --------------------------------------------------------------------


def test_demo_video_command_writes_the_video_and_prints_one_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.mp4"
    result = CliRunner().invoke(
        app, ["demo-video", str(path), "--minutes", "0.5", "--size", "320x240"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote {path}: 30.0 s, 320x240 at 25 fps, 5 shots (4 cuts), 5 utterances"
    ]
    info = probe(path)
    assert (info.width, info.height, info.has_audio) == (320, 240, True)
    assert abs(info.duration_ms - 30_000) <= 40


@pytest.mark.parametrize(
    "args",
    [
        ["--minutes", "0"],
        ["--minutes", "-2"],
        ["--size", "big"],
        ["--size", "100x50"],
        ["--fps", "0"],
    ],
)
def test_demo_video_command_rejects_bad_input_in_one_line(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["demo-video", str(tmp_path / "d.mp4"), *args])
    user_error(result)


def test_demo_video_command_rejects_an_unwritable_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo-video", str(tmp_path / "no" / "d.mp4")])
    assert "does not exist" in user_error(result)
