"""The faces stage with the real dlib models on real face photos.

Faces come from scikit-image's bundled data: the astronaut photo (Eileen Collins) and a
face from its LFW subset (25x25 px, enlarged), a different person. Both are pasted onto
plain frames, so where the face is, and whose it is, is known.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
import skimage.data
from PIL import Image

from eioku.domain.profiles import ModelProfile
from eioku.domain.schemas.faces import FaceDetectionV1
from eioku.media.decode import MediaInfo, SampledFrame, iter_frames, probe
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import Finding, config_hash
from eioku.pipeline.stages.faces import (
    EMBEDDING_FILE,
    EMBEDDING_MODEL,
    LANDMARKS_FILE,
    FacesStage,
    group_faces,
    hog_confidence,
    packaged_models,
)
from eioku.storage.store import Store

ASTRONAUT_FACE = (179, 83, 88, 88)
"""Where the astronaut's face (brows to chin) is in skimage's 512x512 photo: x, y, w, h."""

Box = tuple[float, float, float, float]


def astronaut_frame(
    size: tuple[int, int], zoom: float, at: tuple[int, int]
) -> tuple[npt.NDArray[np.uint8], Box]:
    """A grey frame with the astronaut's head, enlarged ``zoom`` times, pasted at ``at``.

    Returns the frame and where the face is in it.
    """
    head = Image.fromarray(skimage.data.astronaut()).crop((100, 0, 350, 260))
    head = head.resize((round(250 * zoom), round(260 * zoom)))
    frame = Image.new("RGB", size, (96, 104, 112))
    frame.paste(head, at)
    x, y, w, h = ASTRONAUT_FACE
    face = (at[0] + (x - 100) * zoom, at[1] + y * zoom, w * zoom, h * zoom)
    return np.asarray(frame), face


def stranger_frame(size: tuple[int, int], at: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """A grey frame with an LFW face (someone else) enlarged to 200 px, pasted at ``at``."""
    face = (skimage.data.lfw_subset()[77] * 255).astype(np.uint8)
    enlarged = Image.fromarray(face).resize((200, 200), Image.Resampling.BICUBIC)
    frame = Image.new("RGB", size, (128, 128, 128))
    frame.paste(enlarged.convert("RGB"), at)
    return np.asarray(frame)


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def box_of(finding: Finding) -> Box:
    box = finding.payload["bounding_box"]
    return box["x"], box["y"], box["width"], box["height"]


def make_stage(profile: ModelProfile = ModelProfile.BALANCED) -> FacesStage:
    stage = FacesStage(profile, ModelLibrary(Path("/nonexistent-model-dir")))
    stage.prepare()
    return stage


def feed(stage: FacesStage, images: list[npt.NDArray[np.uint8]]) -> list[Finding]:
    """One "video": the images as frames 500 ms apart, at full size (scale 1)."""
    for index, image in enumerate(images):
        stage.on_frame(SampledFrame(index * 12, index * 500, image, 1.0))
    return stage.finish(probe_less_info(len(images) * 500))


def probe_less_info(duration_ms: int) -> MediaInfo:
    """Facts of a video whose frames were built without a file (finish reads the duration)."""
    return MediaInfo(Path("built.mp4"), "mp4", 1, duration_ms, True, 960, 540)


def write_video(path: Path, image: npt.NDArray[np.uint8], seconds: int = 2, fps: int = 5) -> Path:
    """An MP4 showing ``image`` for ``seconds``."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    height, width = image.shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_profiles_differ_in_settings_and_fast_is_cheapest() -> None:
    stages = {p: FacesStage(p, ModelLibrary(Path("/m"))) for p in ModelProfile}
    hashes = {config_hash(stage.config()) for stage in stages.values()}
    assert len(hashes) == 3
    fast, best = stages[ModelProfile.FAST].settings, stages[ModelProfile.HIGH_QUALITY].settings
    assert fast.interval_ms > best.interval_ms
    assert (fast.max_side or 0) < (best.max_side or 10**6)
    assert fast.upsample <= best.upsample
    assert stages[ModelProfile.FAST].config()["embedding_model"] == EMBEDDING_MODEL


def test_confidence_is_one_half_at_the_detector_threshold_and_rises_with_the_score() -> None:
    assert hog_confidence(0.0) == pytest.approx(0.5)
    scores = [-3.0, -0.5, 0.0, 0.5, 1.0, 2.0, 40.0]
    confidences = [hog_confidence(s) for s in scores]
    assert confidences == sorted(confidences)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert hog_confidence(-800.0) < 1e-9  # no overflow on absurd scores


def test_models_are_found_in_the_package_and_the_model_dir_overrides_it(tmp_path: Path) -> None:
    packaged = packaged_models()
    assert packaged is not None
    statuses = FacesStage(ModelProfile.FAST, ModelLibrary(tmp_path)).model_status()
    assert {s.model for s in statuses} == {LANDMARKS_FILE, EMBEDDING_FILE}
    assert all(str(s.location).startswith(str(packaged)) for s in statuses)
    (tmp_path / "dlib").mkdir()
    (tmp_path / "dlib" / LANDMARKS_FILE).symlink_to(packaged / LANDMARKS_FILE)
    statuses = FacesStage(ModelProfile.FAST, ModelLibrary(tmp_path)).model_status()
    locations = {s.model: s.location for s in statuses}
    assert locations[LANDMARKS_FILE] == str(tmp_path / "dlib" / LANDMARKS_FILE)


def test_a_pasted_face_is_found_where_it_was_pasted() -> None:
    image, face = astronaut_frame((960, 540), zoom=1.8, at=(300, 60))
    (finding,) = feed(make_stage(), [image])
    assert overlap(box_of(finding), face) > 0.6
    payload = FaceDetectionV1.model_validate(finding.payload)
    assert payload.confidence > 0.7
    assert payload.cluster_id is None  # given in before_write, inside the transaction
    assert payload.frame_number == 0
    assert (finding.span_start_ms, finding.span_end_ms) == (0, 500)


def test_a_blank_frame_has_no_faces() -> None:
    blank = np.full((540, 960, 3), 120, dtype=np.uint8)
    assert feed(make_stage(), [blank]) == []


def test_boxes_of_a_decoded_video_are_in_source_pixels(tmp_path: Path) -> None:
    image, face = astronaut_frame((1280, 720), zoom=2.4, at=(520, 40))
    info = probe(write_video(tmp_path / "face.mp4", image))
    stage = make_stage(ModelProfile.FAST)
    request = stage.frame_request(info)
    scales = set()
    for frames in iter_frames(info, {"faces": request}):
        scales.add(frames["faces"].scale)
        stage.on_frame(frames["faces"])
    findings = stage.finish(info)
    assert scales == {0.5}  # 1280 px shrunk to the fast profile's 640
    assert [f.span_start_ms for f in findings] == [0, 1000]
    for finding in findings:
        assert overlap(box_of(finding), face) > 0.6
        assert finding.span_end_ms <= info.duration_ms
        FaceDetectionV1.model_validate(finding.payload)


def test_faces_are_grouped_by_person_and_numbered_by_first_appearance() -> None:
    rng = np.random.default_rng(0)
    people = [rng.normal(size=128) for _ in range(3)]
    people = [p / np.linalg.norm(p) for p in people]
    order = [1, 1, 0, 2, 1, 0, 2]
    faces = [(people[p] + rng.normal(scale=0.01, size=128)).astype(np.float32) for p in order]
    assert group_faces(faces, 0.6) == [0, 0, 1, 2, 0, 1, 2]
    assert group_faces([], 0.6) == []


def test_groups_whose_means_drift_together_are_merged() -> None:
    """A face halfway between two earlier groups pulls their means within reach."""
    base = np.zeros(128)
    a, b, c = base.copy(), base.copy(), base.copy()
    a[0], b[0], c[0] = 0.0, 0.7, 0.35
    faces = [a, b, c, c, c, c]
    labels = group_faces([f.astype(np.float32) for f in faces], 0.6)
    assert len(set(labels)) == 1


def test_the_same_person_in_two_videos_shares_a_cluster_and_a_stranger_does_not(
    store: Store,
) -> None:
    near_shot, _ = astronaut_frame((960, 540), zoom=1.8, at=(300, 60))
    far_shot, _ = astronaut_frame((1280, 720), zoom=1.3, at=(40, 300))
    stranger = stranger_frame((960, 540), at=(600, 200))

    def run(images: list[npt.NDArray[np.uint8]]) -> list[str]:
        stage = make_stage()
        findings = feed(stage, images)
        with store.unit_of_work() as uow:
            clustered = stage.before_write(uow, findings)
        for finding in clustered:
            FaceDetectionV1.model_validate(finding.payload)
        return [finding.payload["cluster_id"] for finding in clustered]

    first = run([near_shot, near_shot])
    assert len(set(first)) == 1
    second = run([stranger, far_shot])
    assert second[1] == first[0]
    assert second[0] != first[0]
    assert run([near_shot, near_shot]) == first  # re-processing finds the same identity
    with store.unit_of_work(write=False) as uow:
        identities = {i.cluster_id: i.member_count for i in uow.faces.all(EMBEDDING_MODEL)}
    assert identities == {first[0]: 5, second[0]: 1}
