"""The ``places`` stage: missing files, the category list, and classification.

No real Places365 weights exist on the test machines, so classification runs on a stand-in
ONNX model written by :mod:`tests.onnx_graphs`: a network with the real model's input and
output layout (1x3x224x224 ImageNet-normalised -> 365 logits), not a trained classifier.
Its logits are fixed, except one that grows with the mean of the normalised red channel,
so ImageNet normalisation, channel order, softmax, the top-k mapping to category names and
the merging of samples into stretches are checked against numbers worked out by hand.
Whether a real Places365 model names real places correctly is not tested here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from eioku.domain.profiles import ModelProfile
from eioku.domain.schemas.places import PlaceClassificationV1
from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame, iter_frames, probe
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import StageUnavailable
from eioku.pipeline.stages.places import (
    CATEGORIES_FILE,
    PlacesStage,
    clean_category,
    parse_categories,
    probabilities,
)
from tests.media import make_video
from tests.onnx_graphs import channel_mean_model

FOREST, AIRFIELD = 3, 5
RED_WEIGHT = 4.0
FOREST_LOGIT = 5.0


def _categories(count: int = 365) -> str:
    names = [f"/c/class_{i:03d}" for i in range(count)]
    names[FOREST] = "/f/forest/broadleaf"
    names[AIRFIELD] = "/a/airfield"
    return "".join(f"{name} {i}\n" for i, name in enumerate(names))


def _standin_places(folder: Path, forest: float = FOREST_LOGIT) -> Path:
    """365 logits: forest fixed at 5, airfield = 4 x mean of the normalised red channel."""
    folder.mkdir(parents=True, exist_ok=True)
    constant = np.zeros((1, 365), np.float32)
    constant[0, FOREST] = forest
    weights = np.zeros((3, 365), np.float32)
    weights[0, AIRFIELD] = RED_WEIGHT
    (folder / CATEGORIES_FILE).write_text(_categories(), encoding="utf-8")
    return channel_mean_model(
        folder / "resnet18_places365.onnx", ("batch", 3, 224, 224), constant, weights
    )


def _expected(red: int) -> tuple[str, float]:
    """The stand-in's top label and its probability on a frame whose red value is ``red``."""
    airfield = RED_WEIGHT * (red / 255 - 0.485) / 0.229
    total = math.exp(airfield) + math.exp(FOREST_LOGIT) + 363
    if airfield > FOREST_LOGIT:
        return "airfield", math.exp(airfield) / total
    return "forest/broadleaf", math.exp(FOREST_LOGIT) / total


def _info(duration_ms: int) -> MediaInfo:
    return MediaInfo(Path("unused.mp4"), "mp4", 1, duration_ms, True, 64, 48)


def test_missing_model_raises_stage_unavailable_saying_how_to_convert(tmp_path: Path) -> None:
    stage = PlacesStage(ModelProfile.FAST, ModelLibrary(tmp_path / "models"))

    with pytest.raises(StageUnavailable) as caught:
        stage.prepare()

    message = caught.value.message
    assert str(tmp_path / "models" / "places365") in message
    assert "torch.onnx.export" in message
    assert "docs/models.md" in message
    rows = stage.model_status()
    assert not any(row.available for row in rows)
    assert [row.model for row in rows][-1] == CATEGORIES_FILE


def test_model_without_category_file_is_unavailable(tmp_path: Path) -> None:
    _standin_places(tmp_path / "places365")
    (tmp_path / "places365" / CATEGORIES_FILE).unlink()
    stage = PlacesStage(ModelProfile.BALANCED, ModelLibrary(tmp_path))

    with pytest.raises(StageUnavailable, match=f"{CATEGORIES_FILE} is missing"):
        stage.prepare()

    model, categories = stage.model_status()
    assert model.available
    assert model.model == "resnet18_places365.onnx"
    assert not categories.available
    assert str(tmp_path / "places365") in categories.hint


def test_high_quality_falls_back_to_a_smaller_model_and_says_so(tmp_path: Path) -> None:
    _standin_places(tmp_path / "places365")
    stage = PlacesStage(ModelProfile.HIGH_QUALITY, ModelLibrary(tmp_path))

    preferred, used, categories = stage.model_status()

    assert stage.config()["model"] == "places365/resnet18_places365.onnx"
    assert stage.config()["preferred_model"] == "resnet50_places365.onnx"
    assert stage.producer_version.startswith("resnet18_places365+onnxruntime-")
    assert not preferred.available
    assert "meanwhile resnet18_places365.onnx is used" in preferred.hint
    assert used.available
    assert categories.available


def test_category_count_must_match_the_model(tmp_path: Path) -> None:
    _standin_places(tmp_path / "places365")
    (tmp_path / "places365" / CATEGORIES_FILE).write_text(_categories(300), encoding="utf-8")

    with pytest.raises(
        StageUnavailable, match=r"365 classes but categories_places365\.txt lists 300"
    ):
        PlacesStage(ModelProfile.FAST, ModelLibrary(tmp_path)).prepare()


def test_category_names_become_readable_labels() -> None:
    assert clean_category("/a/airfield") == "airfield"
    assert clean_category("/f/forest/broadleaf") == "forest/broadleaf"
    assert clean_category("/s/subway_station/platform") == "subway station/platform"
    assert clean_category("/b/bedroom") == "bedroom"


def test_category_file_is_ordered_by_index_and_checked() -> None:
    assert parse_categories("/b/bedroom 1\n\n/a/airfield 0\n") == ("airfield", "bedroom")
    assert parse_categories("/a/airfield\n/b/bedroom\n") == ("airfield", "bedroom")
    with pytest.raises(ValueError, match="appears twice"):
        parse_categories("/a/airfield 0\n/b/bedroom 0\n")
    with pytest.raises(ValueError, match=r"not 0\.\.n-1"):
        parse_categories("/a/airfield 0\n/b/bedroom 2\n")


def test_probabilities_are_softmax_of_logits_and_kept_when_already_probabilities() -> None:
    logits = np.array([[2.0, 0.0, 0.0]], np.float32)
    probs = np.array([[0.7, 0.2, 0.1]], np.float32)

    e = math.exp(2.0)
    assert probabilities(logits).tolist() == pytest.approx([e / (e + 2), 1 / (e + 2), 1 / (e + 2)])
    assert probabilities(probs).tolist() == pytest.approx([0.7, 0.2, 0.1])


def test_standin_model_on_a_decoded_video_gives_one_artifact_per_stretch(tmp_path: Path) -> None:
    """Five seconds of red, green, blue, yellow, red; high_quality samples every 2 s.

    Red (220) and yellow (230) frames push the airfield logit above the forest's 5; green
    and blue (red value 30) do not. The samples at 0, 2 and 4 s are red, blue and red.
    """
    _standin_places(tmp_path / "places365")
    video = make_video(tmp_path / "clip.mp4", seconds=5, fps=5, size=(64, 48))
    info = probe(video)
    stage = PlacesStage(ModelProfile.HIGH_QUALITY, ModelLibrary(tmp_path))
    stage.prepare()

    for frames in iter_frames(info, {"places": stage.frame_request(info)}):
        stage.on_frame(frames["places"])
    findings = stage.finish(info)

    spans = [(f.span_start_ms, f.span_end_ms, f.payload["label"]) for f in findings]
    assert spans == [
        (0, 2000, "airfield"),
        (2000, 4000, "forest/broadleaf"),
        (4000, info.duration_ms, "airfield"),
    ]
    for finding in findings:
        PlaceClassificationV1.model_validate(finding.payload)
    first, second, _ = findings
    assert first.payload["confidence"] == pytest.approx(_expected(220)[1], abs=0.03)
    assert second.payload["confidence"] == pytest.approx(_expected(30)[1], abs=0.03)
    alternatives = first.payload["alternative_labels"]
    assert len(alternatives) == 4
    assert alternatives[0]["label"] == "forest/broadleaf"
    assert alternatives[0]["confidence"] == pytest.approx(0.119, abs=0.01)
    assert [a["label"] for a in alternatives[1:]] == ["class 000", "class 001", "class 002"]
    assert second.payload["frame_number"] == 10


def test_unchanged_frames_are_not_classified_again_and_extend_the_stretch(
    tmp_path: Path,
) -> None:
    _standin_places(tmp_path / "places365")
    video = make_video(tmp_path / "clip.mp4", seconds=5, fps=5, size=(64, 48))
    info = probe(video)
    stage = PlacesStage(ModelProfile.FAST, ModelLibrary(tmp_path))
    stage.prepare()

    # Frames 4 s apart are both red: the second is let through the decoder, not the model.
    fed = 0
    for frames in iter_frames(info, {"places": FrameRequest(4000, max_side=320)}):
        stage.on_frame(frames["places"])
        fed += 1
    (finding,) = stage.finish(info)

    assert fed == 2
    assert stage.classified_frames == 1
    assert (finding.span_start_ms, finding.span_end_ms) == (0, info.duration_ms)
    assert finding.payload["label"] == "airfield"


def test_unsure_samples_give_no_artifact_and_end_the_stretch(tmp_path: Path) -> None:
    """With every logit but the airfield's at 0, a black frame (airfield ~ -8.5) leaves 364
    equal classes at ~0.003 each: below min_confidence 0.1. Red gives airfield ~0.67."""
    _standin_places(tmp_path / "places365", forest=0.0)
    stage = PlacesStage(ModelProfile.HIGH_QUALITY, ModelLibrary(tmp_path))
    stage.prepare()
    red = np.full((48, 64, 3), (220, 30, 30), np.uint8)
    black = np.zeros((48, 64, 3), np.uint8)

    stage.on_frame(SampledFrame(0, 0, red, 1.0))
    stage.on_frame(SampledFrame(50, 2000, black, 1.0))
    stage.on_frame(SampledFrame(100, 4000, red, 1.0))
    findings = stage.finish(_info(5000))

    assert [(f.span_start_ms, f.span_end_ms, f.payload["label"]) for f in findings] == [
        (0, 2000, "airfield"),
        (4000, 5000, "airfield"),
    ]
    assert findings[0].payload["confidence"] == pytest.approx(0.67, abs=0.01)
    assert stage.classified_frames == 3
