"""The ``pipeline`` suite: real-time factors of runs, per profile, on a generated demo video.

One demo video (eioku.media.synthetic: shots with captions, a face and speech) is written,
or reused from ``--keep``. In the same process, and before any run, the decoder's own floor
is measured over that file: every frame decoded by PyAV and thrown away, every frame decoded
and converted to a small RGB array through ``iter_frames`` (what a frame stage costs at
least), and the audio extracted. Then, for each engine and profile, one whole run with every
chosen stage executes into a fresh store, and each stage runs alone in a run of its own (a
stage's share of a concurrent run is ambiguous: the audio thread and the frame pass overlap).

Real-time factor (RTF) is media seconds per wall second. CPU seconds are this process's, all
threads (plus the local PostgreSQL backends' on PostgreSQL), which other jobs on a shared
machine do not inflate; the load average is recorded before and after each measurement.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import CpuClock, process_time
from bench.report import Table
from bench.scratch import scratch_database
from eioku.config import Settings
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import StageStatus
from eioku.domain.schemas.registry import SchemaRegistry, load_registry
from eioku.media.decode import FrameRequest, MediaInfo, extract_audio, iter_frames, probe
from eioku.media.synthetic import demo_script, make_demo_video
from eioku.pipeline.ingest import plan_run, register
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.runner import RunExecutor, StageOutcome
from eioku.pipeline.stage import StageUnavailable
from eioku.pipeline.stages import STAGE_NAMES, stage_class
from eioku.storage.store import Store

Say = Callable[[str], None]
FLOOR_MAX_SIDE = 256
"""Longer side of the RGB arrays the conversion floor asks for."""


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """What to measure.

    Attributes:
        model_dir: where stages look for model files; None: the configured one
            (``EIOKU_MODEL_DIR`` or the user data directory's ``models``).
        keep: a folder to keep the generated video in and reuse it from; None: a temporary
            file, removed afterwards.
        isolated: also run each stage alone, per profile.
    """

    engines: tuple[str, ...] = ("sqlite",)
    profiles: tuple[ModelProfile, ...] = tuple(ModelProfile)
    stages: tuple[str, ...] = STAGE_NAMES
    minutes: float = 10.0
    size: tuple[int, int] = (1280, 720)
    fps: int = 25
    model_dir: Path | None = None
    keep: Path | None = None
    isolated: bool = True


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall and CPU seconds of one measurement, with the 1-minute load average around it."""

    wall: float
    cpu: float | None
    load_before: float
    load_after: float


@dataclass(frozen=True, slots=True)
class Video:
    """The video every measurement reads; ``generated`` is None when a kept one was reused."""

    path: Path
    info: MediaInfo
    generated: float | None

    @property
    def media_seconds(self) -> float:
        """The video's duration in seconds."""
        return self.info.duration_ms / 1000


@dataclass(frozen=True, slots=True)
class Floor:
    """What decoding alone costs on the video, measured in the same process as the runs."""

    frames: int
    decode: Timing
    converted: int
    convert: Timing
    audio_samples: int
    audio: Timing
    warmup: Timing


@dataclass(frozen=True, slots=True)
class StageResult:
    """One stage's outcome in a run, with when it finished after the run started."""

    outcome: StageOutcome
    finished_after: float


@dataclass(frozen=True, slots=True)
class RunResult:
    """One executed run: which stages, how it ended and how long it took."""

    engine: str
    profile: ModelProfile
    stages: tuple[str, ...]
    status: str
    error: str | None
    media_ms: int
    timing: Timing
    outcomes: tuple[StageResult, ...]


StageSettings = dict[tuple[str, ModelProfile], dict[str, Any]]
"""Each stage's ``config()`` per profile: what the runs were measured with."""


@dataclass(slots=True)
class PipelineResults:
    """Everything the suite measured."""

    video: Video
    floor: Floor
    settings: StageSettings = field(default_factory=dict)
    whole: list[RunResult] = field(default_factory=list)
    alone: list[RunResult] = field(default_factory=list)


def run(options: PipelineOptions, say: Say) -> tuple[list[Table], list[tuple[str, str]]]:
    """Measure the floor, then every engine and profile; returns the tables (no profiles)."""
    from bench.pipeline_report import tables

    return tables(measure(options, say), options), []


def measure(options: PipelineOptions, say: Say) -> PipelineResults:
    """Every measurement of the suite, in the order they are taken."""
    models = ModelLibrary(options.model_dir or Settings().model_dir)
    registry = load_registry()
    with demo_video(options, say) as video:
        floor = measure_floor(video, options, models, say)
        results = PipelineResults(video, floor, stage_settings(options, models))
        for engine in options.engines:
            for profile in options.profiles:
                say(f"pipeline: {engine}, {profile.value}, whole run of {len(options.stages)}")
                whole = execute(
                    engine, video, profile, options.stages, registry=registry, models=models
                )
                results.whole.append(whole)
                say(f"    {_summary(whole, video)}")
                if not options.isolated:
                    continue
                for name in options.stages:
                    alone = execute(
                        engine, video, profile, (name,), registry=registry, models=models
                    )
                    results.alone.append(alone)
                    say(f"    {name} alone: {_summary(alone, video)}")
    return results


def stage_settings(options: PipelineOptions, models: ModelLibrary) -> StageSettings:
    """Each chosen stage's settings under each chosen profile."""
    return {
        (name, profile): stage_class(name)(profile, models).config()
        for name in options.stages
        for profile in options.profiles
    }


def _summary(result: RunResult, video: Video) -> str:
    rtf = video.media_seconds / result.timing.wall if result.timing.wall > 0 else 0.0
    cpu = f"{result.timing.cpu:.1f}" if result.timing.cpu is not None else "?"
    stages = Counter(found.outcome.status.value for found in result.outcomes)
    states = ", ".join(f"{number} {status}" for status, number in sorted(stages.items()))
    return (
        f"run {result.status} ({states}) in {result.timing.wall:.1f} s "
        f"({rtf:.1f}x real time, CPU {cpu} s)"
    )


@contextmanager
def demo_video(options: PipelineOptions, say: Say) -> Iterator[Video]:
    """The demo video of ``options.minutes``: generated now, or reused from ``options.keep``.

    A kept file's name carries a fingerprint of the demo script, size and frame rate, so a
    changed script writes a new file (delete old ones by hand; a change to how the
    generator draws is not seen: delete the file then too).
    """
    if options.keep is not None:
        options.keep.mkdir(parents=True, exist_ok=True)
        path = options.keep / f"pipeline_demo_{_fingerprint(options)}.mp4"
        if path.exists():
            say(f"pipeline: reusing {path}")
            yield Video(path, probe(path), None)
            return
        partial = path.with_suffix(".partial.mp4")
        generated = _generate(partial, options, say)
        os.replace(partial, path)
        yield Video(path, probe(path), generated)
        return
    folder = Path(tempfile.mkdtemp(prefix="eioku-bench-"))
    try:
        path = folder / "demo.mp4"
        generated = _generate(path, options, say)
        yield Video(path, probe(path), generated)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fingerprint(options: PipelineOptions) -> str:
    script = repr((demo_script(options.minutes), options.size, options.fps))
    width, height = options.size
    digest = hashlib.sha256(script.encode()).hexdigest()[:12]
    return f"{options.minutes:g}min_{width}x{height}_{options.fps}fps_{digest}"


def _generate(path: Path, options: PipelineOptions, say: Say) -> float:
    width, height = options.size
    say(f"pipeline: writing a {options.minutes:g}-minute {width}x{height} demo video")
    started = time.perf_counter()
    make_demo_video(path, options.minutes, size=options.size, fps=options.fps)
    return time.perf_counter() - started


def measure_floor(video: Video, options: PipelineOptions, models: ModelLibrary, say: Say) -> Floor:
    """Decode-only and decode-and-convert frame rates, audio extraction, and a warm-up.

    The warm-up builds and prepares every chosen stage once with the first profile, untimed
    by the runs, so the first run does not also pay for importing the engines.
    """
    import av

    say("pipeline: decoder floor")
    with _stopwatch() as decode, av.open(str(video.path)) as container:
        frames = sum(1 for _ in container.decode(container.streams.video[0]))
    request = {"floor": FrameRequest(0, FLOOR_MAX_SIDE)}
    with _stopwatch() as convert:
        converted = sum(len(found) for found in iter_frames(video.info, request))
    with _stopwatch() as audio:
        samples = extract_audio(video.info)
    with _stopwatch() as warmup:
        for name in options.stages:
            _warm(name, options.profiles[0] if options.profiles else ModelProfile.FAST, models)
    count = 0 if samples is None else len(samples)
    return Floor(frames, decode(), converted, convert(), count, audio(), warmup())


def _warm(name: str, profile: ModelProfile, models: ModelLibrary) -> None:
    with suppress(StageUnavailable):  # the runs record the skip with its reason
        stage_class(name)(profile, models).prepare()


def execute(
    engine: str,
    video: Video,
    profile: ModelProfile,
    stages: tuple[str, ...],
    *,
    registry: SchemaRegistry,
    models: ModelLibrary,
) -> RunResult:
    """Register the video in a fresh store on ``engine``, plan ``stages``, run them, time it.

    The timed section is ``RunExecutor.execute`` alone: probing, preparing the stages
    (loading models), decoding, the engines, and writing every artifact batch.
    """
    with scratch_database(engine) as url:
        store = Store(url, registry)
        try:
            store.upgrade()
            planned = plan_run(store, register(store, video.path), profile, stages, models)
            assert planned.run is not None  # a fresh store has done nothing yet
            observer = _Finishes()
            with _stopwatch(CpuClock(engine, url)) as timing:
                observer.started = time.perf_counter()
                outcome = RunExecutor(store, models, observer=observer).execute(planned.run.run_id)
        finally:
            store.dispose()
    return RunResult(
        engine,
        profile,
        stages,
        outcome.run.status.value,
        outcome.run.error,
        outcome.media_ms,
        timing(),
        tuple(
            StageResult(found, observer.finished.get(found.stage, 0.0)) for found in outcome.stages
        ),
    )


class _Finishes:
    """A run observer noting when each stage finished, counted from the run's start."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.finished: dict[str, float] = {}

    def stage_progress(self, stage: str, fraction: float) -> None:
        """Progress is not measured."""

    def stage_finished(self, outcome: StageOutcome) -> None:
        """Note the time since the run started."""
        self.finished[outcome.stage] = time.perf_counter() - self.started


@contextmanager
def _stopwatch(clock: CpuClock | None = None) -> Iterator[Callable[[], Timing]]:
    """Times the block; the yielded function returns the :class:`Timing` once it ended."""
    load_before = os.getloadavg()[0]
    if clock is not None:
        clock.start()
    started, cpu_started = time.perf_counter(), process_time()
    result: list[Timing] = []
    try:
        yield lambda: result[0]
    finally:
        wall, cpu = time.perf_counter() - started, process_time() - cpu_started
        total = clock.elapsed(cpu) if clock is not None else cpu
        result.append(Timing(wall, total, load_before, os.getloadavg()[0]))


def completed(result: RunResult) -> list[StageOutcome]:
    """The stages of ``result`` that completed."""
    return [s.outcome for s in result.outcomes if s.outcome.status is StageStatus.COMPLETED]
