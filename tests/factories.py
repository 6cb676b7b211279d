"""Small factories and Hypothesis strategies for videos, runs and artifacts of every type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.ids import new_id
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, RunStatus, StageState
from eioku.domain.videos import Video

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def make_video(video_id: str | None = None, **overrides: Any) -> Video:
    video_id = video_id or new_id()
    fields: dict[str, Any] = {
        "video_id": video_id,
        "path": f"/media/{video_id}.mp4",
        "filename": f"{video_id}.mp4",
        "file_size": 1_000_000,
        "file_mtime": EPOCH,
        "file_hash": f"sha256:{video_id}",
        "duration_ms": 600_000,
    }
    return Video(**{**fields, **overrides})


def make_run(
    asset_id: str,
    *,
    profile: ModelProfile = ModelProfile.BALANCED,
    started_at: datetime | None = None,
    run_id: str | None = None,
    stages: tuple[str, ...] = (),
    status: RunStatus = RunStatus.QUEUED,
) -> Run:
    return Run(
        run_id=run_id or new_id(),
        asset_id=asset_id,
        pipeline_profile=profile,
        started_at=started_at or EPOCH,
        status=status,
        stages=tuple(StageState(stage=name) for name in stages),
    )


def sample_payload(artifact_type: str, index: int = 0) -> dict[str, Any]:
    """A valid v1 payload of each built-in type."""
    box = {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0}
    payloads: dict[str, dict[str, Any]] = {
        "transcript.segment": {"text": f"hello world number {index}", "confidence": 0.9},
        "scene": {"scene_index": index, "method": "content", "score": 12.5, "frame_number": index},
        "object.detection": {
            "label": "dog",
            "confidence": 0.8,
            "bounding_box": box,
            "frame_number": index,
        },
        "face.detection": {
            "confidence": 0.95,
            "bounding_box": box,
            "cluster_id": "person-1",
            "frame_number": index,
        },
        "place.classification": {
            "label": "kitchen",
            "confidence": 0.7,
            "alternative_labels": [{"label": "dining_room", "confidence": 0.2}],
            "frame_number": index,
        },
        "ocr.text": {
            "text": f"invoice {index}",
            "confidence": 0.88,
            "bounding_box": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 5}],
            "frame_number": index,
        },
        "video.metadata": {
            "duration_ms": 600_000,
            "width": 1280,
            "height": 720,
            "fps": 30.0,
            "video_codec": "h264",
            "audio_codec": "aac",
            "container": "mp4",
            "file_size": 1_000_000,
        },
    }
    return payloads[artifact_type]


def make_artifact(
    run: Run,
    artifact_type: str = "transcript.segment",
    *,
    start: int = 0,
    end: int | None = None,
    payload: dict[str, Any] | None = None,
    profile: ModelProfile | None = None,
    **overrides: Any,
) -> ArtifactEnvelope:
    fields: dict[str, Any] = {
        "asset_id": run.asset_id,
        "artifact_type": artifact_type,
        "schema_version": 1,
        "span_start_ms": start,
        "span_end_ms": start + 1000 if end is None else end,
        "payload": payload if payload is not None else sample_payload(artifact_type, start),
        "producer": "test-producer",
        "producer_version": "1.0",
        "model_profile": profile or run.pipeline_profile,
        "config_hash": "cfg-1",
        "input_hash": "in-1",
        "run_id": run.run_id,
    }
    return ArtifactEnvelope(**{**fields, **overrides})


def later(minutes: int) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


# -- Hypothesis strategies -----------------------------------------------------------------

text_st = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)
confidence_st = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
pixels_st = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
size_st = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
frame_st = st.integers(min_value=0, max_value=10**9)
box_st = st.fixed_dictionaries(
    {"x": pixels_st, "y": pixels_st, "width": size_st, "height": size_st}
)
point_st = st.fixed_dictionaries({"x": pixels_st, "y": pixels_st})
label_st = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
)

PAYLOAD_STRATEGIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "transcript.segment": st.fixed_dictionaries(
        {"text": text_st},
        optional={
            "speaker": st.none() | label_st,
            "confidence": st.none() | confidence_st,
            "language": label_st,
        },
    ),
    "scene": st.fixed_dictionaries(
        {
            "scene_index": st.integers(min_value=0, max_value=10**6),
            "method": label_st,
            "score": pixels_st,
            "frame_number": frame_st,
        }
    ),
    "object.detection": st.fixed_dictionaries(
        {
            "label": label_st,
            "confidence": confidence_st,
            "bounding_box": box_st,
            "frame_number": frame_st,
        }
    ),
    "face.detection": st.fixed_dictionaries(
        {
            "confidence": confidence_st,
            "bounding_box": box_st,
            "cluster_id": st.none() | label_st,
            "frame_number": frame_st,
        }
    ),
    "place.classification": st.fixed_dictionaries(
        {
            "label": label_st,
            "confidence": confidence_st,
            "alternative_labels": st.lists(
                st.fixed_dictionaries({"label": label_st, "confidence": confidence_st}), max_size=3
            ),
            "frame_number": frame_st,
        }
    ),
    "ocr.text": st.fixed_dictionaries(
        {
            "text": text_st,
            "confidence": confidence_st,
            "bounding_box": st.lists(point_st, min_size=3, max_size=6),
            "language": st.none() | label_st,
            "frame_number": frame_st,
        }
    ),
    "video.metadata": st.fixed_dictionaries(
        {
            "duration_ms": st.integers(min_value=0, max_value=10**10),
            "width": st.integers(min_value=0, max_value=10000),
            "height": st.integers(min_value=0, max_value=10000),
            "fps": st.floats(min_value=0, max_value=1000, allow_nan=False),
            "video_codec": label_st,
            "audio_codec": st.none() | label_st,
            "container": label_st,
            "file_size": st.integers(min_value=0, max_value=2**62),
            "recorded_at": st.none()
            | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
            "gps_latitude": st.none() | st.floats(min_value=-90, max_value=90),
            "gps_longitude": st.none() | st.floats(min_value=-180, max_value=180),
        }
    ),
}

artifact_type_st = st.sampled_from(sorted(PAYLOAD_STRATEGIES))
profile_st = st.sampled_from(list(ModelProfile))


@st.composite
def typed_payload(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """An (artifact_type, valid v1 payload) pair of any built-in type."""
    kind = draw(artifact_type_st)
    return kind, draw(PAYLOAD_STRATEGIES[kind])


@st.composite
def spans(draw: st.DrawFn, max_ms: int = 10_000) -> tuple[int, int]:
    start = draw(st.integers(min_value=0, max_value=max_ms))
    length = draw(st.integers(min_value=0, max_value=max_ms // 4))
    return start, start + length


# -- Helpers for the contract suite and the property tests -------------------------------


def store_settings() -> Any:
    """Hypothesis settings for tests taking the function-scoped ``store`` fixture.

    Each example calls ``clean(store)`` first, so reusing the fixture is safe; the loaded
    profile's own suppressions (too_slow) are kept and max_examples is left to the profile.
    """
    from hypothesis import HealthCheck, settings

    inherited = list(settings().suppress_health_check)
    return settings(suppress_health_check=[*inherited, HealthCheck.function_scoped_fixture])


PRODUCERS = ("whisper", "pyscenedetect", "rapidocr")
PRODUCER_VERSIONS = ("1.0", "2.0")
CONFIG_HASHES = ("cfg-a", "cfg-b", "cfg-c")


@st.composite
def artifact_specs(
    draw: st.DrawFn, types: tuple[str, ...] | None = None, max_ms: int = 10_000
) -> dict[str, Any]:
    """Keyword arguments for :func:`make_artifact` (minus the run): type, valid payload,
    span and provenance drawn from small pools so provenance queries find groups."""
    kind = draw(st.sampled_from(types or sorted(PAYLOAD_STRATEGIES)))
    start, end = draw(spans(max_ms))
    return {
        "artifact_type": kind,
        "payload": draw(PAYLOAD_STRATEGIES[kind]),
        "start": start,
        "end": end,
        "producer": draw(st.sampled_from(PRODUCERS)),
        "producer_version": draw(st.sampled_from(PRODUCER_VERSIONS)),
        "config_hash": draw(st.sampled_from(CONFIG_HASHES)),
    }


def build_artifact(run: Run, spec: dict[str, Any]) -> ArtifactEnvelope:
    """An envelope for ``run`` from an :func:`artifact_specs` draw."""
    spec = dict(spec)
    kind = spec.pop("artifact_type")
    return make_artifact(run, kind, **spec)


def seed_runs(uow: Any, video: Video, *runs: Run) -> None:
    """Register ``video`` and create ``runs`` inside a unit of work."""
    uow.videos.add(video)
    for run in runs:
        uow.runs.create(run)


# Word families for full-text tests: every form of a family stems to the same term and no
# two families share a term, under both SQLite's Porter and PostgreSQL's Snowball stemmer
# (checked against both engines when chosen; see tests/unit/test_fts_engines.py for the
# words on which the two stemmers disagree, which are deliberately absent here).
WORD_FAMILIES: dict[str, tuple[str, ...]] = {
    "dog": ("dog", "dogs"),
    "cat": ("cat", "cats"),
    "jump": ("jump", "jumps", "jumped", "jumping"),
    "walk": ("walk", "walks", "walked", "walking"),
    "invoice": ("invoice", "invoices"),
    "paint": ("paint", "paints", "painted", "painting"),
    "river": ("river", "rivers"),
    "open": ("open", "opens", "opened", "opening"),
    "garden": ("garden", "gardens"),
    "kitchen": ("kitchen", "kitchens"),
    "play": ("play", "plays", "played", "playing"),
    "bird": ("bird", "birds"),
    "window": ("window", "windows"),
    "train": ("train", "trains", "trained", "training"),
    "light": ("light", "lights"),
    "green": ("green",),
    "table": ("table", "tables"),
    "meet": ("meet", "meets", "meeting"),
}
FAMILY_OF: dict[str, str] = {
    form: family for family, forms in WORD_FAMILIES.items() for form in forms
}
word_form_st = st.sampled_from(sorted(FAMILY_OF))
sentence_st = st.lists(word_form_st, min_size=1, max_size=8).map(" ".join)


# A third-party schema plugin, as a package on disk would ship it: a module plus a
# ``*.dist-info`` whose entry_points.txt declares the ``eioku.schemas`` group.
TRANSCRIPT_V2_PLUGIN = """
from typing import Annotated

from pydantic import Field

from eioku.domain.schemas.common import Confidence, Payload


class Word(Payload):
    word: Annotated[str, Field(min_length=1)]
    start_ms: Annotated[int, Field(ge=0)]
    end_ms: Annotated[int, Field(ge=0)]


class TranscriptSegmentV2(Payload):
    text: Annotated[str, Field(min_length=1)]
    speaker: str | None = None
    confidence: Confidence | None = None
    language: str = "en"
    words: list[Word]


def register(registry):
    registry.register("transcript.segment", 2, TranscriptSegmentV2)
"""


def write_schema_plugin(directory: Any, source: str = TRANSCRIPT_V2_PLUGIN) -> str:
    """Write an installed-looking plugin distribution into ``directory``; returns its module.

    Put ``directory`` on sys.path (``monkeypatch.syspath_prepend``) for
    ``importlib.metadata`` to find it. Module names are unique per call, so a test never
    picks up a module another test imported.
    """
    from pathlib import Path

    module = f"eioku_test_plugin_{new_id()}"
    root = Path(directory)
    (root / f"{module}.py").write_text(source)
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[eioku.schemas]\n{module} = {module}:register\n")
    return module


word_timing_st = st.builds(
    lambda word, start, length: {"word": word, "start_ms": start, "end_ms": start + length},
    label_st,
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**4),
)
TRANSCRIPT_V2_STRATEGY = st.fixed_dictionaries(
    {"text": text_st, "words": st.lists(word_timing_st, max_size=5)},
    optional={"speaker": st.none() | label_st, "confidence": st.none() | confidence_st},
)
