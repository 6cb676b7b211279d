"""The ``faces`` stage: dlib finds faces in sampled frames and embeds each one (128-d);
the faces of a video are grouped, and each group joins a library-wide identity.

Identities are stable: an identity's id never changes once given, and a new video's group
joins the nearest identity of the same embedding model when it is close enough (dlib's
usual 0.6 Euclidean distance), or starts a new one. Re-processing a video finds the same
identities again, since its groups sit next to the centroids they moved.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eioku.domain.ids import new_id
from eioku.domain.profiles import ModelProfile
from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame
from eioku.pipeline.models import ModelLibrary, ModelStatus
from eioku.pipeline.stage import Finding, FrameStage, StageUnavailable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from eioku.storage.faces import FaceIdentityRepository
    from eioku.storage.store import UnitOfWork

    Vector = npt.NDArray[np.float32]

logger = logging.getLogger(__name__)

EMBEDDING_MODEL = "dlib_face_recognition_resnet_model_v1"
"""Name stored with every identity: only embeddings of one model are compared."""

LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
EMBEDDING_FILE = f"{EMBEDDING_MODEL}.dat"
MODEL_SUBDIR = "dlib"
"""Model files in the user's model directory override the packaged ones: ``<dir>/dlib/``."""

SAME_PERSON_DISTANCE = 0.6
"""dlib's threshold: embeddings closer than this (Euclidean) are taken as one person."""


@dataclass(frozen=True, slots=True)
class FaceSettings:
    """What a profile means for the faces stage.

    Attributes:
        interval_ms: one sampled frame every this many milliseconds.
        max_side: frames are shrunk so their longer side is at most this (None: as is).
        upsample: times the HOG detector doubles the frame; each halves the smallest face
            it finds (about 80 px at 0, 40 px at 1, in frame pixels) and costs ~3-4x.
        adjust_threshold: added to the HOG detector's threshold (0: dlib's default).
        num_jitters: dlib's re-sampling of a face before embedding (0: one pass).
        cluster_distance: largest embedding distance that still means the same person.
    """

    interval_ms: int
    max_side: int | None
    upsample: int
    adjust_threshold: float = 0.0
    num_jitters: int = 0
    cluster_distance: float = SAME_PERSON_DISTANCE


# dlib's CNN (MMOD) detector costs 2-4 s of CPU per 640-960 px frame here, which at four
# frames a second is far from usable; high_quality runs HOG with one upsampling on frames
# up to 1080p instead (~0.25 s of CPU per 720p frame).
PROFILES: dict[ModelProfile, FaceSettings] = {
    ModelProfile.FAST: FaceSettings(interval_ms=1000, max_side=640, upsample=0),
    # HOG cost grows with the pixels searched: one upsampling step quadruples them. Balanced
    # searches 720p as is (faces from ~80 px); high quality upsamples once (from ~40 px).
    ModelProfile.BALANCED: FaceSettings(interval_ms=500, max_side=1280, upsample=0),
    ModelProfile.HIGH_QUALITY: FaceSettings(interval_ms=500, max_side=1280, upsample=1),
}


def hog_confidence(score: float) -> float:
    """A 0..1 confidence from a HOG detection score.

    The score is the detector's SVM margin, 0 at dlib's default threshold; clear frontal
    faces score about 1-2. The logistic ``1 / (1 + exp(-2 * score))`` puts a detection at
    the threshold at 0.5, a score of 1 at 0.88 and a score of 2 at 0.98.
    """
    return 1.0 / (1.0 + math.exp(-2.0 * min(max(score, -300.0), 300.0)))


def group_faces(embeddings: Sequence[Vector], distance: float) -> list[int]:
    """Group one video's face embeddings by person; returns a group number per face.

    Each face, in order, joins the group whose mean is nearest when closer than
    ``distance``, else starts a group; then groups whose means are closer than
    ``distance`` are merged. Groups are numbered by their first face. Cost grows with
    faces times groups, never faces squared, so long videos stay cheap.
    """
    import numpy as np

    labels: list[int] = []
    sums: list[npt.NDArray[np.float64]] = []
    counts: list[int] = []
    for embedding in embeddings:
        vector = np.asarray(embedding, dtype=np.float64)
        if sums:
            gaps = np.linalg.norm(np.stack(sums) / np.array(counts)[:, None] - vector, axis=1)
            best = int(np.argmin(gaps))
            if gaps[best] < distance:
                sums[best] += vector
                counts[best] += 1
                labels.append(best)
                continue
        sums.append(vector.copy())
        counts.append(1)
        labels.append(len(counts) - 1)
    owner = _merge_close(sums, counts, distance)
    first: dict[int, int] = {}
    return [first.setdefault(owner[label], len(first)) for label in labels]


def _merge_close(
    sums: Sequence[npt.NDArray[np.float64]], counts: Sequence[int], distance: float
) -> list[int]:
    """For each group, the group it ends up in once groups with close means are merged.

    The closest pair is merged first, until no two means are closer than ``distance``.
    """
    import numpy as np

    if len(counts) < 2:
        return list(range(len(counts)))
    total = np.stack(sums)
    sizes = np.asarray(counts, dtype=np.float64)
    means = total / sizes[:, None]
    gaps = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=2)
    np.fill_diagonal(gaps, np.inf)
    owner = list(range(len(counts)))
    alive = np.ones(len(counts), dtype=bool)
    while True:
        i, j = divmod(int(np.argmin(gaps)), len(counts))
        if gaps[i, j] >= distance:
            return owner
        keep, gone = min(i, j), max(i, j)
        total[keep] += total[gone]
        sizes[keep] += sizes[gone]
        means[keep] = total[keep] / sizes[keep]
        alive[gone] = False
        row = np.where(alive, np.linalg.norm(means - means[keep], axis=1), np.inf)
        row[keep] = np.inf
        gaps[keep, :] = gaps[:, keep] = row
        gaps[gone, :] = gaps[:, gone] = np.inf
        owner = [keep if o == gone else o for o in owner]


def match_identities(
    repo: FaceIdentityRepository, groups: Sequence[Vector], model: str, distance: float
) -> list[str]:
    """The library identity of each group of one person's embeddings (rows of a 2-d array).

    Takes the repository's lock first. Larger groups choose first; a group joins the
    identity whose centroid is nearest its mean when closer than ``distance`` (the
    centroid becomes the running mean over both), otherwise it becomes a new identity.
    Existing identities are never renamed or merged.
    """
    import numpy as np

    repo.lock()
    stored = repo.all(model)
    ids = [identity.cluster_id for identity in stored]
    centroids = [identity.centroid.astype(np.float64) for identity in stored]
    counts = [identity.member_count for identity in stored]
    chosen = [""] * len(groups)
    for index in sorted(range(len(groups)), key=lambda g: (-len(groups[g]), g)):
        members = np.asarray(groups[index], dtype=np.float64)
        mean = members.mean(axis=0)
        best = -1
        if centroids:
            gaps = np.linalg.norm(np.stack(centroids) - mean, axis=1)
            best = int(np.argmin(gaps)) if float(np.min(gaps)) < distance else -1
        if best >= 0:
            total = counts[best] + len(members)
            centroids[best] = (centroids[best] * counts[best] + members.sum(axis=0)) / total
            counts[best] = total
            repo.update(ids[best], centroids[best], total)
        else:
            best = len(ids)
            ids.append(new_id())
            centroids.append(mean)
            counts.append(len(members))
            repo.add(ids[best], mean, model, count=len(members))
        chosen[index] = ids[best]
    return chosen


def packaged_models() -> Path | None:
    """The model folder of the ``face-recognition-models`` package, found without importing it.

    (Importing it needs ``pkg_resources``, which current setuptools no longer ships.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if folder.is_dir() else None


_loaded = threading.local()


def _load_engine(dlib: Any, landmarks: Path, embedder: Path) -> tuple[Any, Any, Any]:
    """The detector, landmark predictor and embedder, loaded once per thread.

    Loading costs about 0.7 s (mostly the HOG detector); a worker runs many videos, so
    they are kept. dlib's networks keep scratch buffers, so threads never share them.
    """
    cache: dict[tuple[Path, Path], tuple[Any, Any, Any]] = getattr(_loaded, "engines", {})
    _loaded.engines = cache
    key = (landmarks, embedder)
    if key not in cache:
        cache[key] = (
            dlib.get_frontal_face_detector(),
            dlib.shape_predictor(str(landmarks)),
            dlib.face_recognition_model_v1(str(embedder)),
        )
    return cache[key]


@dataclass(frozen=True, slots=True)
class _Face:
    """A detection waiting for its finding; the embedding never leaves the stage."""

    frame_index: int
    time_ms: int
    confidence: float
    box: tuple[float, float, float, float]
    embedding: Vector


class FacesStage(FrameStage):
    """Face detections (HOG) with 128-d dlib embeddings, clustered across the library."""

    name = "faces"
    artifact_type = "face.detection"

    def __init__(self, profile: ModelProfile, models: ModelLibrary) -> None:
        super().__init__(profile, models)
        self.settings = PROFILES[profile]
        self._engine: tuple[Any, Any, Any] | None = None
        self._faces: list[_Face] = []
        self._embeddings: dict[int, tuple[Finding, Vector]] = {}

    @property
    def producer(self) -> str:
        return "dlib"

    @property
    def producer_version(self) -> str:
        for distribution in ("dlib-bin", "dlib"):
            try:
                return importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"

    def config(self) -> dict[str, Any]:
        s = self.settings
        return {
            "detector": "hog",
            "interval_ms": s.interval_ms,
            "max_side": s.max_side,
            "upsample": s.upsample,
            "adjust_threshold": s.adjust_threshold,
            "landmarks": LANDMARKS_FILE,
            "embedding_model": EMBEDDING_MODEL,
            "num_jitters": s.num_jitters,
            "cluster_distance": s.cluster_distance,
            "confidence": "logistic(2*hog_score)",
        }

    def _model_path(self, filename: str) -> Path | None:
        found = self.models.find(f"{MODEL_SUBDIR}/{filename}")
        if found is not None:
            return found
        packaged = packaged_models()
        path = None if packaged is None else packaged / filename
        return path if path is not None and path.is_file() else None

    def model_status(self) -> Sequence[ModelStatus]:
        hint = (
            "install the face-recognition-models package, or put {name} into "
            f"{self.models.root / MODEL_SUBDIR}"
        )
        statuses = []
        for filename in (LANDMARKS_FILE, EMBEDDING_FILE):
            path = self._model_path(filename)
            location = None if path is None else str(path)
            statuses.append(ModelStatus(self.name, filename, location, hint.format(name=filename)))
        return statuses

    def prepare(self) -> None:
        if self._engine is not None:
            return
        try:
            dlib: Any = importlib.import_module("dlib")
        except ImportError as exc:
            raise StageUnavailable(
                f"faces: dlib cannot be imported ({exc}); install the dlib-bin package"
            ) from None
        landmarks = self._model_path(LANDMARKS_FILE)
        embedder = self._model_path(EMBEDDING_FILE)
        if landmarks is None or embedder is None:
            status = next(status for status in self.model_status() if not status.available)
            raise StageUnavailable(f"faces: {status.model} not found: {status.hint}")
        self._engine = _load_engine(dlib, landmarks, embedder)

    def frame_request(self, info: MediaInfo) -> FrameRequest:
        return FrameRequest(self.settings.interval_ms, self.settings.max_side)

    def on_frame(self, frame: SampledFrame) -> None:
        import numpy as np

        self.prepare()
        assert self._engine is not None
        detector, landmarks, embedder = self._engine
        image = np.ascontiguousarray(frame.image)
        gray = _grayscale(image)
        s = self.settings
        rects, scores, _ = detector.run(gray, s.upsample, s.adjust_threshold)
        height, width = image.shape[:2]
        for rect, score in zip(rects, scores, strict=True):
            shape = landmarks(image, rect)
            embedding = embedder.compute_face_descriptor(image, shape, s.num_jitters)
            left, top = max(0, rect.left()), max(0, rect.top())
            right, bottom = min(width, rect.right() + 1), min(height, rect.bottom() + 1)
            box = tuple(v / frame.scale for v in (left, top, right - left, bottom - top))
            self._faces.append(
                _Face(
                    frame.index,
                    frame.time_ms,
                    hog_confidence(float(score)),
                    (box[0], box[1], box[2], box[3]),
                    np.asarray(embedding, dtype=np.float32),
                )
            )

    def finish(self, info: MediaInfo) -> list[Finding]:
        findings = []
        for face in self._faces:
            end = face.time_ms + self.settings.interval_ms
            if info.duration_ms > face.time_ms:
                end = min(end, info.duration_ms)
            x, y, w, h = (round(v, 1) for v in face.box)
            payload = {
                "confidence": round(face.confidence, 4),
                "bounding_box": {"x": x, "y": y, "width": w, "height": h},
                "cluster_id": None,
                "frame_number": face.frame_index,
            }
            finding = Finding(face.time_ms, end, payload)
            self._embeddings[id(finding)] = (finding, face.embedding)
            findings.append(finding)
        self._faces = []
        return findings

    def before_write(self, uow: UnitOfWork, findings: list[Finding]) -> list[Finding]:
        """Give every face its library identity (inside the run's write transaction)."""
        known = [
            (position, entry[1])
            for position, finding in enumerate(findings)
            if (entry := self._embeddings.get(id(finding))) is not None and entry[0] is finding
        ]
        if len(known) < len(findings):
            logger.warning("faces: %d findings have no embedding", len(findings) - len(known))
        if not known:
            return findings
        distance = self.settings.cluster_distance
        labels = group_faces([embedding for _, embedding in known], distance)
        groups = _stack_groups([embedding for _, embedding in known], labels)
        identities = match_identities(uow.faces, groups, EMBEDDING_MODEL, distance)
        logger.info("faces: %d faces in %d groups", len(known), len(groups))
        out = list(findings)
        for (position, _), label in zip(known, labels, strict=True):
            finding = findings[position]
            payload = {**finding.payload, "cluster_id": identities[label]}
            out[position] = Finding(finding.span_start_ms, finding.span_end_ms, payload)
        return out


def _grayscale(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Luma of an RGB frame: HOG finds the same faces in it at about 70% of the cost."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.fromarray(image).convert("L"))


def _stack_groups(embeddings: Sequence[Vector], labels: Sequence[int]) -> list[Vector]:
    """Each group's embeddings as the rows of one array, in group-number order."""
    import numpy as np

    members: dict[int, list[Vector]] = {}
    for embedding, label in zip(embeddings, labels, strict=True):
        members.setdefault(label, []).append(embedding)
    return [np.stack(members[label]) for label in sorted(members)]
