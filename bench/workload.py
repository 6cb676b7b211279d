"""A synthetic library for the write-path benchmark: videos, one run each, and a typed mix of
artifacts whose payloads look like what the producers emit (float noise, real-length text)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, RunStatus
from eioku.domain.videos import Video
from eioku.storage.artifacts import COLUMNS

# Share of each artifact type in the mix (sums to 1).
MIX: tuple[tuple[str, float], ...] = (
    ("object.detection", 0.40),
    ("transcript.segment", 0.25),
    ("ocr.text", 0.15),
    ("face.detection", 0.10),
    ("place.classification", 0.05),
    ("scene", 0.05),
)
PRODUCERS = {
    "object.detection": ("ultralytics-yolo", "8.3.40"),
    "transcript.segment": ("faster-whisper", "1.1.0"),
    "ocr.text": ("rapidocr", "1.4.4"),
    "face.detection": ("insightface", "0.7.3"),
    "place.classification": ("places365-resnet18", "1.0.0"),
    "scene": ("pyscenedetect", "0.6.5"),
}
OBJECTS = [
    "person",
    "car",
    "dog",
    "cat",
    "bicycle",
    "chair",
    "cup",
    "bottle",
    "laptop",
    "tv",
    "book",
    "bird",
    "truck",
    "bus",
    "clock",
]
PLACES = [
    "kitchen",
    "living_room",
    "beach",
    "street",
    "office",
    "park",
    "bedroom",
    "forest",
    "restaurant",
]
WORDS = [
    "the",
    "invoice",
    "was",
    "sent",
    "on",
    "monday",
    "and",
    "we",
    "should",
    "check",
    "the",
    "numbers",
    "before",
    "the",
    "meeting",
    "tomorrow",
    "morning",
    "because",
    "the",
    "client",
    "asked",
    "about",
    "delivery",
    "dates",
    "and",
    "payment",
    "terms",
    "again",
]
CONFIG_HASHES = {kind: hashlib.sha256(kind.encode()).hexdigest() for kind in PRODUCERS}
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)
VIDEO_MS = 30 * 60 * 1000


@dataclass(frozen=True)
class Library:
    """Everything one benchmark size writes, built once and shared by every engine and path."""

    videos: list[Video]
    runs: list[Run]
    envelopes: list[ArtifactEnvelope]

    def batches(self, size: int) -> Iterator[Sequence[ArtifactEnvelope]]:
        """The envelopes in consecutive batches of ``size``."""
        for start in range(0, len(self.envelopes), size):
            yield self.envelopes[start : start + size]


def type_counts(total: int) -> dict[str, int]:
    """How many artifacts of each type ``total`` holds; rounding goes to the largest type."""
    counts = {kind: int(total * share) for kind, share in MIX}
    counts[MIX[0][0]] += total - sum(counts.values())
    return counts


def build_library(total: int, videos: int, seed: int = 7) -> Library:
    """``videos`` videos with one balanced run each, sharing ``total`` artifacts in the mix.

    Each video's artifacts are in time order with the types interleaved, as a pipeline
    that fans frames out to every producer hands them to the store.
    """
    rng = random.Random(seed)
    kinds = [kind for kind, count in type_counts(total).items() for _ in range(count)]
    rng.shuffle(kinds)
    library_videos = [_video(index) for index in range(videos)]
    library_runs = [_run(video, index) for index, video in enumerate(library_videos)]
    envelopes: list[ArtifactEnvelope] = []
    for index, run in enumerate(library_runs):
        share = kinds[index * total // videos : (index + 1) * total // videos]
        envelopes.extend(_video_artifacts(run, share, rng, len(envelopes)))
    return Library(library_videos, library_runs, envelopes)


def raw_rows(envelopes: Sequence[ArtifactEnvelope], created_at: datetime) -> list[tuple[Any, ...]]:
    """The artifacts-table rows of ``envelopes`` as a bulk path receives them.

    Payloads are pre-serialised JSON text; columns follow the table (``COLUMNS``).
    """
    rows = []
    for envelope in envelopes:
        values = envelope.model_dump(exclude={"payload"})
        values["payload"] = orjson.dumps(envelope.payload).decode()
        values["model_profile"] = envelope.model_profile.value
        values["created_at"] = created_at
        rows.append(tuple(values[name] for name in COLUMNS))
    return rows


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _video(index: int) -> Video:
    video_id = f"{0x0190_0000_0000 + index:012x}{index:020x}"
    return Video(
        video_id=video_id,
        path=f"/media/library/2025/holiday-{index:04d}.mp4",
        filename=f"holiday-{index:04d}.mp4",
        file_size=750_000_000 + index,
        file_mtime=EPOCH + timedelta(days=index),
        file_hash=f"sha256:{index:064x}",
        duration_ms=VIDEO_MS,
    )


def _run(video: Video, index: int) -> Run:
    return Run(
        run_id=f"{0x0191_0000_0000 + index:012x}{index:020x}",
        asset_id=video.video_id,
        pipeline_profile=ModelProfile.BALANCED,
        started_at=EPOCH + timedelta(days=index, hours=1),
        status=RunStatus.RUNNING,
    )


def _video_artifacts(
    run: Run, kinds: Sequence[str], rng: random.Random, first: int
) -> list[ArtifactEnvelope]:
    """One video's artifacts; ids grow with ``first + position`` like time-ordered new_id()."""
    starts = sorted(rng.randrange(VIDEO_MS) for _ in kinds)
    scene_index = 0
    envelopes = []
    for position, (kind, start) in enumerate(zip(kinds, starts, strict=True)):
        payload, length = PAYLOADS[kind](rng, start, scene_index)
        scene_index += kind == "scene"
        producer, version = PRODUCERS[kind]
        envelopes.append(
            ArtifactEnvelope(
                artifact_id=f"{0x0192_0000_0000 + first + position:012x}{_hex(rng, 20)}",
                asset_id=run.asset_id,
                artifact_type=kind,
                schema_version=1,
                span_start_ms=start,
                span_end_ms=start + length,
                payload=payload,
                producer=producer,
                producer_version=version,
                model_profile=run.pipeline_profile,
                config_hash=CONFIG_HASHES[kind],
                input_hash=f"sha256:{run.asset_id}{run.asset_id}",
                run_id=run.run_id,
            )
        )
    return envelopes


Payload = dict[str, Any]


def _frame(start: int) -> int:
    return start * 30 // 1000


def _box(rng: random.Random) -> Payload:
    return {
        "x": round(rng.uniform(0, 1200), 2),
        "y": round(rng.uniform(0, 650), 2),
        "width": round(rng.uniform(8, 400), 2),
        "height": round(rng.uniform(8, 400), 2),
    }


def _object(rng: random.Random, start: int, _scene: int) -> tuple[Payload, int]:
    payload = {
        "label": rng.choice(OBJECTS),
        "confidence": rng.uniform(0.25, 1.0),
        "bounding_box": _box(rng),
        "frame_number": _frame(start),
    }
    return payload, 0


def _transcript(rng: random.Random, _start: int, _scene: int) -> tuple[Payload, int]:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 22)))
    payload = {
        "text": text.capitalize() + ".",
        "speaker": rng.choice(("SPEAKER_00", "SPEAKER_01", None)),
        "confidence": rng.uniform(0.5, 1.0),
        "language": "en",
    }
    return payload, rng.randint(1500, 9000)


def _ocr(rng: random.Random, start: int, _scene: int) -> tuple[Payload, int]:
    x, y = rng.uniform(0, 1000), rng.uniform(0, 600)
    width, height = rng.uniform(40, 280), rng.uniform(12, 48)
    corners = [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]
    payload = {
        "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))),
        "confidence": rng.uniform(0.5, 1.0),
        "bounding_box": [{"x": round(px, 1), "y": round(py, 1)} for px, py in corners],
        "language": "en",
        "frame_number": _frame(start),
    }
    return payload, rng.randint(500, 4000)


def _face(rng: random.Random, start: int, _scene: int) -> tuple[Payload, int]:
    payload = {
        "confidence": rng.uniform(0.5, 1.0),
        "bounding_box": _box(rng),
        "cluster_id": rng.choice((f"cluster-{rng.randrange(40):03d}", None)),
        "frame_number": _frame(start),
    }
    return payload, 0


def _place(rng: random.Random, start: int, _scene: int) -> tuple[Payload, int]:
    labels = rng.sample(PLACES, 3)
    payload = {
        "label": labels[0],
        "confidence": rng.uniform(0.4, 1.0),
        "alternative_labels": [
            {"label": label, "confidence": rng.uniform(0.0, 0.3)} for label in labels[1:]
        ],
        "frame_number": _frame(start),
    }
    return payload, 0


def _scene(rng: random.Random, start: int, scene: int) -> tuple[Payload, int]:
    payload = {
        "scene_index": scene,
        "method": "content",
        "score": round(rng.uniform(27.0, 90.0), 3),
        "frame_number": _frame(start),
    }
    return payload, rng.randint(1000, 20000)


PAYLOADS: dict[str, Callable[[random.Random, int, int], tuple[Payload, int]]] = {
    "object.detection": _object,
    "transcript.segment": _transcript,
    "ocr.text": _ocr,
    "face.detection": _face,
    "place.classification": _place,
    "scene": _scene,
}
