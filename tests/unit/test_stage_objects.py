"""The ``objects`` stage: missing-model handling, NMS and box mapping, and inference.

No real YOLO weights exist on the test machines, so inference runs on stand-in ONNX models
written by :mod:`tests.onnx_graphs`: networks with a real Ultralytics export's input and
output layout (``images`` 1x3xHxW in 0..1 -> ``[1, 4 + classes, anchors]``), not trained
detectors. Their rows are fixed boxes and scores, plus one score that follows the mean of
the letterboxed input, so letterboxing, thresholds, per-class NMS, the mapping of boxes
back to source pixels, labels and tracking are all checked against numbers worked out by
hand. Whether a real YOLO model detects real objects is not tested here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eioku.domain.profiles import ModelProfile
from eioku.domain.schemas.objects import ObjectDetectionV1
from eioku.media.decode import MediaInfo, SampledFrame, iter_frames, probe
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import StageUnavailable, config_hash
from eioku.pipeline.stages._onnx import ChangeGate, Letterbox, boxes_to_source, letterbox
from eioku.pipeline.stages.objects import COCO_CLASSES, ObjectsStage, decode_yolo, nms
from tests.media import make_video
from tests.onnx_graphs import image_mean_model

PERSON, CAR, CAT, DOG = 0, 2, 15, 16


def _anchor(out: np.ndarray, anchor: int, box: tuple[float, ...], cls: int, score: float) -> None:
    out[0, :4, anchor] = box
    out[0, 4 + cls, anchor] = score


def _standin_yolo(path: Path) -> Path:
    """Five anchors on a 640x640 input: a person, a weaker duplicate of it, a dog on the
    same spot, a car below every threshold, and a cat scored -0.7 + 2 x mean(input)."""
    constant = np.zeros((1, 84, 6), np.float32)
    per_mean = np.zeros_like(constant)
    _anchor(constant, 0, (320, 320, 100, 200), PERSON, 0.9)
    _anchor(constant, 1, (325, 325, 100, 200), PERSON, 0.8)  # IoU ~0.9 with anchor 0
    _anchor(constant, 2, (320, 320, 100, 200), DOG, 0.7)  # same box, other class: kept
    _anchor(constant, 3, (100, 200, 40, 40), CAR, 0.1)
    _anchor(constant, 4, (500, 250, 60, 60), CAT, -0.7)
    per_mean[0, 4 + CAT, 4] = 2.0
    # Anchor 5 stays all zeros: no score above any threshold.
    path.parent.mkdir(parents=True, exist_ok=True)
    return image_mean_model(path, (1, 3, 640, 640), constant, per_mean)


def test_missing_model_raises_stage_unavailable_saying_how_to_export(tmp_path: Path) -> None:
    models = ModelLibrary(tmp_path / "models")
    stage = ObjectsStage(ModelProfile.FAST, models)

    with pytest.raises(StageUnavailable) as caught:
        stage.prepare()

    message = caught.value.message
    assert str(tmp_path / "models" / "yolo") in message
    assert "yolo export model=yolov8n.pt format=onnx" in message
    assert "docs/models.md" in message
    assert stage.config()["model"] is None
    (row,) = stage.model_status()
    assert not row.available
    assert "yolov8n.onnx" in row.model
    assert str(tmp_path / "models" / "yolo") in row.hint
    assert "yolo export model=yolov8n.pt format=onnx" in row.hint


def test_unloadable_model_file_is_reported_not_crashed(tmp_path: Path) -> None:
    (tmp_path / "yolo").mkdir()
    (tmp_path / "yolo" / "yolov8n.onnx").write_bytes(b"<html>not a model</html>")
    stage = ObjectsStage(ModelProfile.FAST, ModelLibrary(tmp_path))

    with pytest.raises(StageUnavailable, match="not a model ONNX Runtime can load"):
        stage.prepare()


def test_profile_falls_back_to_a_smaller_model_and_config_names_it(tmp_path: Path) -> None:
    _standin_yolo(tmp_path / "yolo" / "yolov8n.onnx")
    models = ModelLibrary(tmp_path)

    high = ObjectsStage(ModelProfile.HIGH_QUALITY, models)
    fast = ObjectsStage(ModelProfile.FAST, models)

    assert high.config()["model"] == "yolo/yolov8n.onnx"
    assert high.config()["preferred_size"] == "m"
    assert len(high.config()["model_sha256"]) == 16
    assert config_hash(high.config()) != config_hash(fast.config())
    assert high.producer == "yolo"
    assert high.producer_version.startswith("yolov8n+onnxruntime-")
    preferred, used = high.model_status()
    assert not preferred.available
    assert "yolov8m.onnx" in preferred.model
    assert "meanwhile yolov8n.onnx is used" in preferred.hint
    assert used.location == str(tmp_path / "yolo" / "yolov8n.onnx")
    assert [row.available for row in fast.model_status()] == [True]


def test_nms_drops_overlapping_lower_scores_and_keeps_separate_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.5, 0.9, 0.6, 0.1], np.float32)

    keep = nms(boxes, scores, iou_threshold=0.5)

    assert keep.tolist() == [1, 2]  # box 0 and 3 overlap box 1 (IoU 0.68 and 0.68)


def test_nms_keeps_a_box_whose_overlap_is_at_most_the_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], np.float32)  # IoU = 50 / 150
    scores = np.array([0.9, 0.8], np.float32)

    assert nms(boxes, scores, iou_threshold=0.34).tolist() == [0, 1]
    assert nms(boxes, scores, iou_threshold=0.33).tolist() == [0]


def test_decode_yolo_thresholds_and_suppresses_within_each_class_only() -> None:
    out = np.zeros((1, 84, 4), np.float32)
    _anchor(out, 0, (50, 50, 20, 20), DOG, 0.8)
    _anchor(out, 1, (51, 51, 20, 20), DOG, 0.6)
    _anchor(out, 2, (50, 50, 20, 20), CAT, 0.7)
    _anchor(out, 3, (200, 200, 20, 20), CAR, 0.2)

    found = decode_yolo(out, 80, confidence=0.3, iou=0.45, max_detections=100)

    assert found.classes.tolist() == [DOG, CAT]
    assert found.scores.tolist() == pytest.approx([0.8, 0.7])
    assert found.boxes[0].tolist() == [40, 40, 60, 60]
    transposed = decode_yolo(out.transpose(0, 2, 1), 80, 0.3, 0.45, 100)
    assert transposed.classes.tolist() == [DOG, CAT]
    assert decode_yolo(out, 80, 0.3, 0.45, max_detections=1).classes.tolist() == [DOG]


def test_letterbox_centres_the_frame_and_boxes_map_back_to_source_pixels() -> None:
    image = np.full((50, 100, 3), 255, np.uint8)  # an array of a frame decoded at half size

    tensor, box = letterbox(image, 640, 640)

    assert tensor.shape == (1, 3, 640, 640)
    assert box == Letterbox(ratio=6.4, left=0, top=160)
    assert tensor[0, :, 159, 0].tolist() == pytest.approx([114 / 255] * 3)
    assert tensor[0, :, 160, 0].tolist() == pytest.approx([1.0] * 3)
    assert tensor[0, :, 480, 0].tolist() == pytest.approx([114 / 255] * 3)
    # A box at array pixels (10, 5)-(30, 25) is at source pixels (20, 10)-(60, 50).
    in_model = np.array([[10 * 6.4, 5 * 6.4 + 160, 30 * 6.4, 25 * 6.4 + 160]], np.float32)
    source = boxes_to_source(in_model, box, scale=0.5, source_size=(200, 100))
    assert source[0].tolist() == pytest.approx([20, 10, 60, 50], abs=1e-3)
    clipped = boxes_to_source(np.array([[-50, 100, 700, 700]], np.float32), box, 0.5, (200, 100))
    assert clipped[0].tolist() == pytest.approx([0, 0, 200, 100])


def test_change_gate_max_notices_a_small_object_that_mean_misses() -> None:
    scene = np.full((360, 640, 3), 90, np.uint8)
    with_object = scene.copy()
    with_object[100:160, 300:380] = 250  # a bright object on 2% of the frame
    by_max, by_mean = ChangeGate(16.0, "max"), ChangeGate(12.0, "mean")

    assert by_max.changed(scene)  # the first frame always passes
    assert by_mean.changed(scene)
    assert not by_max.changed(scene.copy())
    assert by_max.changed(with_object)
    assert not by_mean.changed(with_object)
    every = ChangeGate(0.0)
    assert every.changed(scene)
    assert every.changed(scene)  # threshold 0: nothing is ever skipped


def test_standin_model_on_a_decoded_video_gives_tracked_detections(tmp_path: Path) -> None:
    """Five seconds of red, green, blue, yellow, red at 128x72 through the real decoder.

    Letterboxed to 640x640 the frame is scaled x5 and padded 140 px above and below, so the
    person's box (270, 220)-(370, 420) in the model input is (54, 16)-(74, 56) in the
    source. The cat scores -0.7 + 2 x mean(input): about 0.43 on yellow and 0.07-0.10 on the
    other colours, so only the yellow second shows it (threshold 0.25).
    """
    _standin_yolo(tmp_path / "models" / "yolo" / "yolov8m.onnx")
    video = make_video(tmp_path / "clip.mp4", seconds=5, fps=5, size=(128, 72))
    info = probe(video)
    stage = ObjectsStage(ModelProfile.HIGH_QUALITY, ModelLibrary(tmp_path / "models"))
    stage.prepare()

    request = stage.frame_request(info)
    fed = 0
    for frames in iter_frames(info, {"objects": request}):
        stage.on_frame(frames["objects"])
        fed += 1
    findings = stage.finish(info)

    assert request.max_side == 640
    labels = [f.payload["label"] for f in findings]
    assert labels == ["dog", "person", "cat"]  # one duplicate person suppressed, no car
    dog, person, cat = findings
    for finding in findings:
        ObjectDetectionV1.model_validate(finding.payload)
    assert person.payload["bounding_box"] == {"x": 54.0, "y": 16.0, "width": 20.0, "height": 40.0}
    assert person.payload["confidence"] == pytest.approx(0.9)
    assert dog.payload["confidence"] == pytest.approx(0.7)
    assert (person.span_start_ms, person.span_end_ms) == (0, info.duration_ms)
    # Samples are due every 500 ms and land on the next frame at 5 fps: 0, 600, 1000, 1600,
    # ..., 3000, 3600, 4000 ms; yellow is 3-4 s, so the cat ends at the first sample without it.
    assert (cat.span_start_ms, cat.span_end_ms) == (3000, 4000)
    assert cat.payload["confidence"] == pytest.approx(0.43, abs=0.03)
    assert cat.payload["frame_number"] == 15
    assert cat.payload["bounding_box"] == {"x": 94.0, "y": 16.0, "width": 12.0, "height": 12.0}
    # Repeated colours were not run through the model again.
    assert stage.inferred_frames == 5 < fed


def test_input_size_and_class_names_come_from_the_model(tmp_path: Path) -> None:
    """A 320x320 stand-in naming two custom classes in Ultralytics' ``names`` metadata."""
    constant = np.zeros((1, 6, 3), np.float32)
    _anchor(constant, 0, (160, 160, 64, 32), 1, 0.95)
    (tmp_path / "yolo").mkdir()
    image_mean_model(
        tmp_path / "yolo" / "yolo11n.onnx",
        (1, 3, 320, 320),
        constant,
        np.zeros_like(constant),
        metadata={"names": "{0: 'widget', 1: 'gadget'}", "imgsz": "[320, 320]"},
    )
    stage = ObjectsStage(ModelProfile.FAST, ModelLibrary(tmp_path))
    stage.prepare()
    # A 400x200 source frame decoded at half size.
    frame = SampledFrame(index=7, time_ms=0, image=np.zeros((100, 200, 3), np.uint8), scale=0.5)

    stage.on_frame(frame)
    (finding,) = stage.finish(probe_free_info(duration_ms=1000))

    assert stage.frame_request(probe_free_info(duration_ms=1000)).max_side == 320
    # Letterbox: x1.6, 80 px of padding on top; then /0.5 back to the 400x200 source.
    assert finding.payload == {
        "label": "gadget",
        "confidence": 0.95,
        "bounding_box": {"x": 160.0, "y": 80.0, "width": 80.0, "height": 40.0},
        "frame_number": 7,
    }
    assert (finding.span_start_ms, finding.span_end_ms) == (0, 1000)


def test_model_with_unnamed_non_coco_classes_is_refused(tmp_path: Path) -> None:
    constant = np.zeros((1, 7, 3), np.float32)
    (tmp_path / "yolo").mkdir()
    image_mean_model(
        tmp_path / "yolo" / "yolov8n.onnx", (1, 3, 64, 64), constant, np.zeros_like(constant)
    )

    with pytest.raises(StageUnavailable, match=r"gives output \[1, 7, 3\], which fits neither"):
        ObjectsStage(ModelProfile.FAST, ModelLibrary(tmp_path)).prepare()


def test_coco_class_list_has_the_80_names_in_order() -> None:
    assert len(COCO_CLASSES) == 80 == len(set(COCO_CLASSES))
    assert COCO_CLASSES[PERSON] == "person"
    assert COCO_CLASSES[DOG] == "dog"
    assert COCO_CLASSES[-1] == "toothbrush"


def probe_free_info(duration_ms: int) -> MediaInfo:
    """A MediaInfo for stage calls that only read the duration."""
    return MediaInfo(
        path=Path("unused.mp4"),
        container="mp4",
        file_size=1,
        duration_ms=duration_ms,
        has_video=True,
        width=400,
        height=200,
    )
