"""A synthetic library for the navigation benchmark, generated video by video.

Every video is derived from ``(seed, index)`` alone, so a benchmark can stream 10^7 artifacts
without holding them and can rebuild any video's plan (duration, labels) to aim its queries.
About a third of the videos have an older ``fast`` run over every type and a newer
``high_quality`` run over speech, objects and faces, so the default selection (latest run per
video and type) hides part of each such video.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, RunStatus
from eioku.domain.videos import Video, VideoStatus

GENERATOR_VERSION = 1


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COCO = _names(
    "person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant "
    "stop_sign parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe "
    "backpack umbrella handbag tie suitcase frisbee skis snowboard sports_ball kite "
    "baseball_bat baseball_glove skateboard surfboard tennis_racket bottle wine_glass cup "
    "fork knife spoon bowl banana apple sandwich orange broccoli carrot hot_dog pizza donut "
    "cake chair couch potted_plant bed dining_table toilet tv laptop mouse remote keyboard "
    "cell_phone microwave oven toaster sink refrigerator book clock vase scissors teddy_bear "
    "hair_drier toothbrush"
)
PLACES = _names(
    "kitchen living_room bedroom bathroom office conference_room classroom library corridor "
    "restaurant cafeteria bar supermarket shopping_mall street highway parking_lot "
    "train_station airport_terminal beach coast lake forest_path mountain field park "
    "playground garden backyard stadium gymnasium swimming_pool church museum stage "
    "construction_site harbor bridge desert"
)
WORDS = _names(
    "the of and to a in is it you that he was for on are with as i his they be at one have "
    "this from or had by word but what some we can out other were all there when up use your "
    "how said an each she which do their time if will way about many then them write would "
    "like so these her long make thing see him two has look more day could go come did number "
    "sound no most people my over know water than call first who may down side been now find "
    "any new work part take get place made live where after back little only round man year "
    "came show every good me give our under name very through just form sentence great think "
    "say help low line differ turn cause much mean before move right boy old too same tell "
    "does set three want air well also play small end put home read hand port large spell add "
    "even land here must big high such follow act why ask men change went light kind off need "
    "house picture try us again animal point mother world near build self earth father head "
    "stand own page should country found answer school grow study still learn plant cover "
    "food sun four between state keep eye never last let thought city tree cross farm hard "
    "start might story saw far sea draw left late run while press close night real life few "
    "north invoice meeting budget delivery payment client contract schedule project report "
    "quarter market price order team design launch river mountain holiday birthday wedding "
    "concert garden kitchen weather morning evening dinner"
)
TYPES = (
    "object.detection",
    "transcript.segment",
    "ocr.text",
    "face.detection",
    "place.classification",
    "scene",
)
MIX = (0.40, 0.20, 0.15, 0.10, 0.05, 0.10)
HQ_TYPES = ("object.detection", "transcript.segment", "face.detection")
PRODUCERS = {
    "object.detection": ("ultralytics-yolo", "8.3.40"),
    "transcript.segment": ("faster-whisper", "1.1.0"),
    "ocr.text": ("rapidocr", "1.4.4"),
    "face.detection": ("dlib", "19.24.6"),
    "place.classification": ("places365-resnet18", "1.0.0"),
    "scene": ("pyscenedetect", "0.6.5"),
}
FACE_CLUSTERS = 200
TWO_RUN_SHARE = 0.3
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
REGISTERED = datetime(2025, 1, 1, tzinfo=UTC)
CREATED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FRAME_MS = 500


def _zipf(size: int, exponent: float = 1.0) -> list[float]:
    """Cumulative Zipf weights for ``random.choices(cum_weights=...)``."""
    return list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, size + 1)))


COCO_WEIGHTS = _zipf(len(COCO))
WORD_WEIGHTS = _zipf(len(WORDS), 0.9)
CLUSTER_WEIGHTS = _zipf(FACE_CLUSTERS, 0.8)


@dataclass(frozen=True)
class Shape:
    """How big a library is; together with the generator version it names the dataset."""

    total: int
    videos: int
    seed: int = 11

    @classmethod
    def for_total(cls, total: int) -> Shape:
        """The brief's shapes: ~100 artifacts per video, at most 10^4 videos."""
        return cls(total, min(10_000, max(1, total // 100)))

    @property
    def fingerprint(self) -> str:
        """A name for the dataset: generator version, size, videos and seed."""
        return f"v{GENERATOR_VERSION}_{self.total}_{self.videos}_{self.seed}"

    def counts(self) -> list[int]:
        """Artifacts per video: long-tailed (lognormal) shares summing to ``total``."""
        rng = random.Random(self.seed)
        weights = [rng.lognormvariate(0, 0.7) for _ in range(self.videos)]
        scale = self.total / sum(weights)
        counts = [int(w * scale) for w in weights]
        for index in range(self.total - sum(counts)):
            counts[index % self.videos] += 1
        return counts


@dataclass(slots=True)
class Item:
    """One artifact before the store sees it; quacks like an envelope for projections."""

    artifact_id: str
    asset_id: str
    artifact_type: str
    span_start_ms: int
    span_end_ms: int
    payload: dict[str, Any]
    model_profile: ModelProfile
    run_id: str

    def envelope(self) -> ArtifactEnvelope:
        """The real envelope, stamped with the dataset's fixed ``created_at``."""
        producer, version = PRODUCERS[self.artifact_type]
        return ArtifactEnvelope(
            artifact_id=self.artifact_id,
            asset_id=self.asset_id,
            artifact_type=self.artifact_type,
            schema_version=1,
            span_start_ms=self.span_start_ms,
            span_end_ms=self.span_end_ms,
            payload=self.payload,
            producer=producer,
            producer_version=version,
            model_profile=self.model_profile,
            config_hash=config_hash(self.artifact_type, self.model_profile),
            input_hash=input_hash(self.asset_id),
            run_id=self.run_id,
            created_at=CREATED_AT,
        )


def config_hash(artifact_type: str, profile: ModelProfile) -> str:
    """A stable stand-in for the hash of a producer configuration."""
    return f"cfg-{artifact_type}-{profile.value}"


def input_hash(asset_id: str) -> str:
    """A stable stand-in for the content hash of a video."""
    return f"sha256:{asset_id}"


@dataclass(frozen=True)
class VideoPlan:
    """One video: its record, its runs and which types each run produced."""

    index: int
    video: Video
    runs: tuple[Run, ...]
    run_types: tuple[tuple[str, ...], ...]
    labels: tuple[str, ...]
    clusters: tuple[str, ...]

    @property
    def duration_ms(self) -> int:
        """The video's length."""
        return self.video.duration_ms or 0


def video_id(index: int) -> str:
    """The id of video ``index``: 32 hex digits, unrelated to its place on the timeline."""
    return f"{0x0190_0000_0000 + index:012x}{index * 2_654_435_761 % 2**80:020x}"


def plan(shape: Shape, index: int) -> VideoPlan:
    """The video ``index`` of ``shape`` (cheap: no artifacts are generated)."""
    rng = _rng(shape, index, "plan")
    vid = video_id(index)
    registered = REGISTERED + timedelta(minutes=index)
    recorded = EPOCH + timedelta(seconds=rng.randrange(5 * 365 * 86_400))
    video = Video(
        video_id=vid,
        path=f"/library/{index // 1000:03d}/clip-{index:06d}.mp4",
        filename=f"clip-{index:06d}.mp4",
        file_size=50_000_000 + rng.randrange(2_000_000_000),
        file_mtime=registered,
        file_hash=f"sha256:{vid}",
        duration_ms=rng.randrange(5, 90) * 60_000 + rng.randrange(60_000),
        recorded_at=recorded if rng.random() < 0.9 else None,
        status=VideoStatus.READY,
        created_at=registered,
        updated_at=registered,
    )
    if rng.random() < TWO_RUN_SHARE:
        profiles = (ModelProfile.FAST, ModelProfile.HIGH_QUALITY)
        run_types: tuple[tuple[str, ...], ...] = (TYPES, HQ_TYPES)
    else:
        profiles = (rng.choice(list(ModelProfile)),)
        run_types = (TYPES,)
    runs = tuple(
        Run(
            run_id=f"{0x0191_0000_0000 + index:012x}{number:04x}{index:016x}",
            asset_id=vid,
            pipeline_profile=profile,
            status=RunStatus.COMPLETED,
            started_at=registered + timedelta(days=3 * number, hours=1),
            finished_at=registered + timedelta(days=3 * number, hours=2),
        )
        for number, profile in enumerate(profiles)
    )
    labels = tuple(rng.choices(COCO, cum_weights=COCO_WEIGHTS, k=rng.randint(3, 12)))
    clusters = tuple(
        f"cluster-{rank:03d}"
        for rank in rng.choices(range(FACE_CLUSTERS), cum_weights=CLUSTER_WEIGHTS, k=6)
    )
    return VideoPlan(index, video, runs, run_types, labels, clusters)


def items(shape: Shape, video: VideoPlan, count: int) -> list[Item]:
    """The ``count`` artifacts of one video over its runs, each run's in time order."""
    rng = _rng(shape, video.index, "items")
    shares = [count] if len(video.runs) == 1 else [count - count * 9 // 20, count * 9 // 20]
    made: list[Item] = []
    for number, (run, kinds, share) in enumerate(
        zip(video.runs, video.run_types, shares, strict=True)
    ):
        weights = [MIX[TYPES.index(kind)] for kind in kinds]
        per_type = Counter(rng.choices(kinds, weights=weights, k=share))
        found: list[tuple[int, str, int, dict[str, Any]]] = []
        for kind in kinds:
            found += _spans(kind, per_type[kind], video, rng)
        found.sort(key=lambda span: span[0])
        for position, (start, kind, end, payload) in enumerate(found):
            artifact_id = f"{0x0192_0000_0000 + video.index:012x}{number:04x}{position:016x}"
            made.append(
                Item(
                    artifact_id,
                    video.video.video_id,
                    kind,
                    start,
                    end,
                    payload,
                    run.pipeline_profile,
                    run.run_id,
                )
            )
    return made


def library(shape: Shape) -> Iterator[tuple[VideoPlan, list[Item]]]:
    """Every video of ``shape`` with its artifacts, one video at a time."""
    for index, count in enumerate(shape.counts()):
        video = plan(shape, index)
        yield video, items(shape, video, count)


def sentence(rng: random.Random, low: int, high: int) -> str:
    """Words drawn from the vocabulary by a Zipf law, like speech."""
    return " ".join(rng.choices(WORDS, cum_weights=WORD_WEIGHTS, k=rng.randint(low, high)))


def _rng(shape: Shape, index: int, purpose: str) -> random.Random:
    return random.Random(f"{shape.seed}:{index}:{purpose}")


Span = tuple[int, str, int, dict[str, Any]]


def _spans(kind: str, count: int, video: VideoPlan, rng: random.Random) -> list[Span]:
    if count == 0:
        return []
    duration = video.duration_ms
    if kind == "scene":
        cuts = sorted(rng.sample(range(1, duration), count - 1)) if count > 1 else []
        edges = [0, *cuts, duration]
        return [(edges[i], kind, edges[i + 1], _scene(rng, i, edges[i])) for i in range(count)]
    if kind in ("transcript.segment", "ocr.text"):
        starts = sorted(rng.randrange(duration) for _ in range(count))
        make = _transcript if kind == "transcript.segment" else _ocr
        return [(start, kind, *make(rng, start)) for start in starts]
    # Detections share sampled frames (~2.5 per frame): ties on one start are common.
    slots = duration // FRAME_MS + 1
    frames = rng.sample(range(slots), min(slots, count * 2 // 5 + 1))
    starts = sorted(rng.choice(frames) * FRAME_MS for _ in range(count))
    payload = {"object.detection": _object, "face.detection": _face}.get(kind, _place)
    return [(start, kind, start, payload(rng, start, video)) for start in starts]


def _frame(ms: int) -> int:
    return ms * 30 // 1000


def _num(rng: random.Random, low: float, high: float, digits: int = 1) -> float:
    """A uniform number with ``digits`` decimals (cheaper than round(uniform()))."""
    scale = 10**digits
    return int(low * scale + rng.random() * (high - low) * scale) / scale


def _box(rng: random.Random) -> dict[str, float]:
    return {
        "x": _num(rng, 0, 1200),
        "y": _num(rng, 0, 650),
        "width": _num(rng, 8, 400),
        "height": _num(rng, 8, 400),
    }


def _scene(rng: random.Random, index: int, start: int) -> dict[str, Any]:
    score = _num(rng, 27, 90, 3)
    return {
        "scene_index": index,
        "method": "content",
        "score": score,
        "frame_number": _frame(start),
    }


def _transcript(rng: random.Random, start: int) -> tuple[int, dict[str, Any]]:
    payload = {
        "text": sentence(rng, 5, 20),
        "speaker": rng.choice(("SPEAKER_00", "SPEAKER_01", None)),
        "confidence": _num(rng, 0.5, 1.0, 4),
        "language": "en",
    }
    return start + 1500 + int(rng.random() * 7500), payload


def _ocr(rng: random.Random, start: int) -> tuple[int, dict[str, Any]]:
    x, y = _num(rng, 0, 1000), _num(rng, 0, 600)
    w, h = _num(rng, 40, 280), _num(rng, 12, 48)
    corners = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
    payload = {
        "text": sentence(rng, 1, 4),
        "confidence": _num(rng, 0.5, 1.0, 4),
        "bounding_box": [{"x": px, "y": py} for px, py in corners],
        "language": "en",
        "frame_number": _frame(start),
    }
    return start + 500 + int(rng.random() * 5500), payload


def _object(rng: random.Random, start: int, video: VideoPlan) -> dict[str, Any]:
    label = rng.choice(video.labels) if rng.random() < 0.8 else rng.choice(COCO)
    return {
        "label": label,
        "confidence": _num(rng, 0.25, 1.0, 4),
        "bounding_box": _box(rng),
        "frame_number": _frame(start),
    }


def _face(rng: random.Random, start: int, video: VideoPlan) -> dict[str, Any]:
    cluster = rng.choice(video.clusters) if rng.random() < 0.9 else None
    return {
        "confidence": _num(rng, 0.5, 1.0, 4),
        "bounding_box": _box(rng),
        "cluster_id": cluster,
        "frame_number": _frame(start),
    }


def _place(rng: random.Random, start: int, video: VideoPlan) -> dict[str, Any]:
    labels = rng.sample(PLACES, 3)
    return {
        "label": labels[0],
        "confidence": _num(rng, 0.4, 1.0, 4),
        "alternative_labels": [
            {"label": label, "confidence": _num(rng, 0.0, 0.3, 4)} for label in labels[1:]
        ],
        "frame_number": _frame(start),
    }
