"""Executing a run: decode once, feed every stage, store each stage's artifacts atomically.

The order inside a run:

1. probe the file (a file that is not readable media fails the run with the reason);
2. build and prepare each stage; a missing model skips that stage with its message;
3. run container stages, extract the audio once and start the audio stages in a worker
   thread, then decode the video once and feed the frame stages while speech is being
   recognised (the engines release the GIL, so both cores work);
4. write each stage's findings as one ``batch_create`` in its own transaction as soon as
   the stage is done: a failing stage leaves the others' artifacts in place and fails the
   run with the stage and reason.

Every database access happens on the calling thread; worker threads only compute. Stage
progress is flushed to ``run_stages`` at most once a second, and the same flush notices a
cancel made elsewhere (API, another terminal). Ctrl-C or a cancel marks the run and its
unfinished stages ``cancelled``; no batch is ever half-written because each is one
transaction.

A run may be split between executors (one job per worker queue, each executing a subset
of its stages): the first to start moves the run to ``running`` and the last to finish
gives it its final status, both under a lock on the run's row. Each executor claims the
stages it runs with a token and writes a stage's results only while it still holds the
claim, so a run recovered from a dead worker and taken over elsewhere is never written
twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import EiokuError
from eioku.domain.runs import Run, RunStatus, StageStatus, check_transition
from eioku.domain.videos import Video, VideoStatus
from eioku.media.decode import (
    FrameRequest,
    MediaError,
    MediaInfo,
    SampledFrame,
    extract_audio,
    iter_frames,
    probe,
)
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import (
    AudioStage,
    ContainerStage,
    Finding,
    FrameStage,
    Stage,
    StageUnavailable,
    config_hash,
)
from eioku.pipeline.stages import stage_class
from eioku.storage.store import Store, UnitOfWork

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0


class RunCancelled(Exception):
    """Raised inside the run when it was cancelled (Ctrl-C or a cancel request)."""


class RunLost(Exception):
    """Raised inside the run when its stages were handed to another executor.

    That happens when the run was recovered (this worker looked dead) while this executor
    still worked on it: it stops without writing anything.
    """


class RunObserver(Protocol):
    """Receives progress as the run goes (the CLI draws progress bars from it)."""

    def stage_progress(self, stage: str, fraction: float) -> None:
        """``stage`` reached ``fraction`` (0..1)."""

    def stage_finished(self, outcome: StageOutcome) -> None:
        """``stage`` reached a final status."""


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """How one stage of a run ended."""

    stage: str
    status: StageStatus
    artifact_count: int = 0
    message: str | None = None
    seconds: float = 0.0


@dataclass
class RunOutcome:
    """How a run ended: its final row and each stage's outcome."""

    run: Run
    stages: list[StageOutcome] = field(default_factory=list)
    media_ms: int = 0
    seconds: float = 0.0


def describe(exc: BaseException) -> str:
    """A one-line reason for a stage or run failure."""
    if isinstance(exc, EiokuError):
        return " ".join(exc.message.split())
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class _Live:
    """One stage while the run executes."""

    stage: Stage
    config_hash: str
    started: float = 0.0
    progress: float = 0.0
    flushed: float = -1.0
    failed: str | None = None


FEED_DEPTH = 4
"""Frames waiting per frame stage: enough to ride out jitter, few enough to bound memory."""


class _Feeder:
    """Feeds one frame stage from its own thread, so stages work on both cores at once.

    The engines (dlib, onnxruntime, OpenCV) release the GIL while they compute. A stage
    that raises is marked failed and fed no more; an interrupt raised inside a stage
    (Ctrl-C delivered there, or a cancel) is handed back to the decoding thread.
    """

    def __init__(self, name: str, item: _Live) -> None:
        self._item = item
        self._frames: queue.Queue[SampledFrame | None] = queue.Queue(maxsize=FEED_DEPTH)
        self._ended = False  # the end-of-frames marker is queued
        self._abandon = threading.Event()
        self._interrupt: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=f"eioku-{name}", daemon=True)
        self._thread.start()

    def offer(self, frame: SampledFrame, timeout: float = 0.2) -> bool:
        """Queue a frame; False when the stage is still busy after ``timeout`` seconds."""
        if self._item.failed is not None or self._interrupt is not None:
            return True  # nothing more goes to a failed stage
        try:
            self._frames.put(frame, timeout=timeout)
        except queue.Full:
            return False
        return True

    def drained(self, timeout: float = 0.2) -> bool:
        """Tell the stage the frames are over; True once it processed every frame."""
        if not self._ended:
            try:
                self._frames.put(None, timeout=timeout)
            except queue.Full:
                return False
            self._ended = True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """End the thread after the frame in hand; frames still queued are dropped."""
        self._abandon.set()
        self._thread.join()

    def reraise(self) -> None:
        """Raise, in the caller's thread, an interrupt that happened inside the stage."""
        if self._interrupt is not None:
            raise self._interrupt

    def _work(self) -> None:
        stage = self._item.stage
        assert isinstance(stage, FrameStage)
        while True:
            try:
                frame = self._frames.get(timeout=0.1)
            except queue.Empty:
                if self._abandon.is_set():
                    return
                continue
            if frame is None or self._abandon.is_set():
                return
            if self._item.failed is not None or self._interrupt is not None:
                continue
            try:
                stage.on_frame(frame)
            except (KeyboardInterrupt, RunCancelled) as exc:
                self._interrupt = exc
            except Exception as exc:
                logger.exception("stage %s failed on frame %d", stage.name, frame.index)
                self._item.failed = f"frame {frame.index} at {frame.time_ms} ms: {describe(exc)}"


class RunExecutor:
    """Executes queued runs against one store.

    Args:
        store: where the run, the video and the artifacts live.
        models: where model files are looked up.
        observer: optional progress receiver.
        cancel: set it (from any thread) to cancel the run at the next frame or segment.
        release: set it together with ``cancel`` to hand the run back to the queue instead
            of cancelling it (a worker shutting down): its unfinished stages become
            pending again.
        locate: maps a video's stored path to the file to read on this machine.
        on_release: called inside the transaction that hands the run back, e.g. to queue
            a new job for it in the same commit.
    """

    def __init__(
        self,
        store: Store,
        models: ModelLibrary,
        *,
        observer: RunObserver | None = None,
        cancel: threading.Event | None = None,
        release: threading.Event | None = None,
        locate: Callable[[str], Path] = Path,
        on_release: Callable[[UnitOfWork, Run], None] | None = None,
    ) -> None:
        self._store = store
        self._models = models
        self._observer = observer
        self._cancel = cancel or threading.Event()
        self._release = release or threading.Event()
        self._locate = locate
        self._on_release = on_release
        self._outcomes: list[StageOutcome] = []
        self._last_check = 0.0
        self._token = uuid.uuid4().hex
        self._only: frozenset[str] | None = None

    def execute(self, run_id: str, stages: Sequence[str] | None = None) -> RunOutcome:
        """Run the pending stages of ``run_id`` (all, or those in ``stages``).

        With ``stages``, this is one of several jobs of the run: the run may already be
        running (another job started it), and it is closed only when no stage is left.

        Raises:
            NotFound: no such run.
            RunStateError: the run is not queued (or, with ``stages``, already finished).
            KeyboardInterrupt: re-raised after the run was marked cancelled.
        """
        started = time.monotonic()
        self._only = None if stages is None else frozenset(stages)
        with self._store.unit_of_work() as uow:
            run = uow.runs.lock(run_id)
            if run.status is RunStatus.QUEUED:
                run = uow.runs.transition(run_id, RunStatus.RUNNING)
            elif stages is None or run.status is not RunStatus.RUNNING:
                check_transition(run.status, RunStatus.RUNNING)
            if stages is not None:
                # The queue hands a job to one executor at a time: stages of ours still
                # marked running belong to an executor that is gone (or cut off and
                # fenced by its claim), so they start over here.
                run = uow.runs.reset_stages(run_id, stages)
            video = uow.videos.get(run.asset_id)
            uow.videos.set_status(video.video_id, VideoStatus.PROCESSING)
        self._outcomes = []
        media_ms = 0
        try:
            info = probe(self._locate(video.path))
            media_ms = info.duration_ms
            live = self._prepare(run, video)
            self._execute(run, video, info, live)
        except MediaError as exc:
            self._fail_pending(run, describe(exc))
        except RunLost:
            logger.warning("run %s was taken over by another executor; stopped", run_id)
            with self._store.unit_of_work(write=False) as uow:
                current = uow.runs.get(run_id)
            return RunOutcome(current, list(self._outcomes), media_ms, time.monotonic() - started)
        except (KeyboardInterrupt, RunCancelled) as exc:
            if self._release.is_set() and not isinstance(exc, KeyboardInterrupt):
                self._hand_back(run)
            else:
                self._finish_cancelled(run)
            if isinstance(exc, KeyboardInterrupt):
                raise
        final = self._finish(run.run_id, video.video_id)
        return RunOutcome(final, list(self._outcomes), media_ms, time.monotonic() - started)

    def _mine(self, stage: str) -> bool:
        """Whether ``stage`` belongs to what this executor was asked to run."""
        return self._only is None or stage in self._only

    def _check_claims(self, uow: UnitOfWork, run_id: str, names: Sequence[str]) -> None:
        """Raise RunLost unless this executor still holds every stage in ``names``."""
        claims = uow.runs.claims(run_id)
        if any(claims.get(name) != self._token for name in names):
            raise RunLost(run_id)

    # -- preparing -------------------------------------------------------------------

    def _prepare(self, run: Run, video: Video) -> dict[str, _Live]:
        """Build each pending stage; record its hashes; skip or fail those that cannot run."""
        live: dict[str, _Live] = {}
        for state in run.stages:
            if state.status is not StageStatus.PENDING or not self._mine(state.stage):
                continue
            name = state.stage
            try:
                stage = stage_class(name)(run.pipeline_profile, self._models)
                settings = config_hash(stage.config())
                with self._store.unit_of_work() as uow:
                    uow.runs.set_stage(
                        run.run_id,
                        name,
                        StageStatus.RUNNING,
                        input_hash=video.file_hash,
                        config_hash=settings,
                    )
                    uow.runs.claim(run.run_id, name, self._token)
                stage.prepare()
            except StageUnavailable as exc:
                self._record(run.run_id, StageOutcome(name, StageStatus.SKIPPED, 0, describe(exc)))
                continue
            except Exception as exc:
                logger.exception("stage %s could not start", name)
                self._record(run.run_id, StageOutcome(name, StageStatus.FAILED, 0, describe(exc)))
                continue
            live[name] = _Live(stage, settings, started=time.monotonic())
        return live

    # -- executing -------------------------------------------------------------------

    def _execute(self, run: Run, video: Video, info: MediaInfo, live: dict[str, _Live]) -> None:
        for name, item in list(live.items()):
            if isinstance(item.stage, ContainerStage):
                self._complete(run, video, item, partial(item.stage.run, info))
                del live[name]
        audio_stages = {n: i for n, i in live.items() if isinstance(i.stage, AudioStage)}
        frame_stages = {n: i for n, i in live.items() if isinstance(i.stage, FrameStage)}
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eioku-audio")
        futures: dict[str, Future[list[Finding]]] = {}
        try:
            if audio_stages:
                futures = self._start_audio(run, info, audio_stages, pool)
            if frame_stages:
                self._frame_pass(run, video, info, frame_stages)
            for name, future in futures.items():
                item = audio_stages[name]
                while not wait([future], timeout=0.2).done:
                    self._tick(run, {name: item})
                self._complete(run, video, item, future.result)
        finally:
            if any(not future.done() for future in futures.values()):
                self._cancel.set()  # leaving early: stop the audio work at its next segment
            pool.shutdown(wait=True, cancel_futures=True)

    def _start_audio(
        self,
        run: Run,
        info: MediaInfo,
        stages: dict[str, _Live],
        pool: ThreadPoolExecutor,
    ) -> dict[str, Future[list[Finding]]]:
        if not info.has_audio:
            for name in list(stages):
                message = f"{name}: the video has no audio track"
                self._record(run.run_id, StageOutcome(name, StageStatus.SKIPPED, 0, message))
                del stages[name]
            return {}
        try:
            audio = extract_audio(info)
        except MediaError as exc:
            for name in list(stages):
                self._record(run.run_id, StageOutcome(name, StageStatus.FAILED, 0, describe(exc)))
                del stages[name]
            return {}
        assert audio is not None  # has_audio was checked
        futures: dict[str, Future[list[Finding]]] = {}
        for name, item in stages.items():
            stage = item.stage
            assert isinstance(stage, AudioStage)
            progress = self._progress_setter(item)
            futures[name] = pool.submit(stage.run, audio, progress)
        return futures

    def _progress_setter(self, item: _Live) -> Callable[[float], None]:
        """A progress callback for worker threads: stores the value, raises once cancelled."""

        def report(fraction: float) -> None:
            if self._cancel.is_set():
                raise RunCancelled
            item.progress = min(1.0, max(0.0, float(fraction)))

        return report

    def _frame_pass(
        self, run: Run, video: Video, info: MediaInfo, stages: dict[str, _Live]
    ) -> None:
        requests = {}
        for name, item in list(stages.items()):
            stage = item.stage
            assert isinstance(stage, FrameStage)
            try:
                requests[name] = stage.frame_request(info)
            except Exception as exc:
                item.failed = describe(exc)
        self._decode_and_feed(run, info, stages, requests)
        for item in stages.values():
            stage = item.stage
            assert isinstance(stage, FrameStage)
            if item.failed is not None:
                self._record(
                    run.run_id,
                    StageOutcome(stage.name, StageStatus.FAILED, 0, item.failed, self._age(item)),
                )
                continue
            self._complete(run, video, item, partial(stage.finish, info))

    def _decode_and_feed(
        self,
        run: Run,
        info: MediaInfo,
        stages: dict[str, _Live],
        requests: dict[str, FrameRequest],
    ) -> None:
        """Decode once; each stage's frames go to its own feeder thread."""
        duration = max(1, info.duration_ms)
        position = [0]

        def at(ms: int) -> None:
            position[0] = ms

        feeders = {name: _Feeder(name, item) for name, item in stages.items()}
        try:
            for frames in iter_frames(info, requests, on_position=at):
                if self._cancel.is_set():
                    raise RunCancelled
                for name, frame in frames.items():
                    while not feeders[name].offer(frame):
                        self._tick(run, stages)  # that stage is behind: keep status fresh
                fraction = min(0.99, position[0] / duration)
                for item in stages.values():
                    item.progress = fraction
                self._tick(run, stages)
            for feeder in feeders.values():
                while not feeder.drained():
                    self._tick(run, stages)
        except MediaError as exc:
            for item in stages.values():
                item.failed = item.failed or describe(exc)
        finally:
            for feeder in feeders.values():
                feeder.stop()
        for feeder in feeders.values():
            feeder.reraise()

    # -- bookkeeping -----------------------------------------------------------------

    def _tick(self, run: Run, stages: dict[str, _Live]) -> None:
        """Tell the observer; once a second, flush progress and look for a cancel."""
        if self._observer is not None:
            for name, item in stages.items():
                self._observer.stage_progress(name, item.progress)
        if self._cancel.is_set():  # set in this process: no need to wait for the flush
            raise RunCancelled
        now = time.monotonic()
        if now - self._last_check < FLUSH_SECONDS:
            return
        self._last_check = now
        with self._store.unit_of_work() as uow:
            if uow.runs.status(run.run_id) is RunStatus.CANCELLED:
                self._cancel.set()
            else:
                self._check_claims(uow, run.run_id, list(stages))
            for name, item in stages.items():
                if item.progress != item.flushed and item.failed is None:
                    uow.runs.set_stage(
                        run.run_id, name, StageStatus.RUNNING, progress=item.progress
                    )
                    item.flushed = item.progress
        if self._cancel.is_set():
            raise RunCancelled

    def _complete(
        self, run: Run, video: Video, item: _Live, produce: Callable[[], list[Finding]]
    ) -> None:
        """Get the stage's findings and store them as one batch; record the outcome."""
        stage = item.stage
        try:
            findings = produce()
            with self._store.unit_of_work() as uow:
                # Under the run's row lock: a cancel committed (or set here) before this
                # point wins and nothing is stored; one arriving later waits for the commit.
                status = uow.runs.lock(run.run_id).status
                if self._cancel.is_set() or status is RunStatus.CANCELLED:
                    self._cancel.set()
                    raise RunCancelled
                self._check_claims(uow, run.run_id, [stage.name])
                findings = stage.before_write(uow, findings)
                envelopes = [self._envelope(run, video, item, found) for found in findings]
                uow.artifacts.batch_create(envelopes)
                uow.runs.set_stage(
                    run.run_id, stage.name, StageStatus.COMPLETED, artifact_count=len(envelopes)
                )
        except (KeyboardInterrupt, RunCancelled, RunLost):
            raise
        except Exception as exc:
            logger.exception("stage %s failed", stage.name)
            self._record(
                run.run_id,
                StageOutcome(stage.name, StageStatus.FAILED, 0, describe(exc), self._age(item)),
            )
            return
        outcome = StageOutcome(
            stage.name, StageStatus.COMPLETED, len(envelopes), None, self._age(item)
        )
        self._outcomes.append(outcome)
        if self._observer is not None:
            self._observer.stage_finished(outcome)

    @staticmethod
    def _envelope(run: Run, video: Video, item: _Live, found: Finding) -> ArtifactEnvelope:
        stage = item.stage
        return ArtifactEnvelope(
            asset_id=video.video_id,
            artifact_type=stage.artifact_type,
            schema_version=stage.schema_version,
            span_start_ms=found.span_start_ms,
            span_end_ms=found.span_end_ms,
            payload=found.payload,
            producer=stage.producer,
            producer_version=stage.producer_version,
            model_profile=run.pipeline_profile,
            config_hash=item.config_hash,
            input_hash=video.file_hash,
            run_id=run.run_id,
        )

    @staticmethod
    def _age(item: _Live) -> float:
        return time.monotonic() - item.started if item.started else 0.0

    def _record(self, run_id: str, outcome: StageOutcome) -> None:
        """Store a stage's final status with its reason (in its own transaction)."""
        with self._store.unit_of_work() as uow:
            self._check_claims(uow, run_id, [outcome.stage])
            uow.runs.set_stage(run_id, outcome.stage, outcome.status, error=outcome.message)
        self._outcomes.append(outcome)
        if self._observer is not None:
            self._observer.stage_finished(outcome)

    def _fail_pending(self, run: Run, reason: str) -> None:
        """The file cannot be processed at all: every unfinished stage of ours fails with why."""
        with self._store.unit_of_work() as uow:
            current = uow.runs.lock(run.run_id)  # the run's row first, then its stages
            claims = uow.runs.claims(run.run_id)
            for state in current.stages:
                ours = state.status is StageStatus.PENDING or (
                    state.status is StageStatus.RUNNING and claims.get(state.stage) == self._token
                )
                if ours and self._mine(state.stage):
                    uow.runs.set_stage(run.run_id, state.stage, StageStatus.FAILED, error=reason)
                    outcome = StageOutcome(state.stage, StageStatus.FAILED, 0, reason)
                    self._outcomes.append(outcome)
                    if self._observer is not None:
                        self._observer.stage_finished(outcome)

    def _finish_cancelled(self, run: Run) -> None:
        with self._store.unit_of_work() as uow:
            current = uow.runs.get(run.run_id)
            if not current.status.is_terminal:
                uow.runs.transition(run.run_id, RunStatus.CANCELLED, error="cancelled")
            for state in current.stages:
                if state.status in (StageStatus.PENDING, StageStatus.RUNNING):
                    uow.runs.set_stage(run.run_id, state.stage, StageStatus.CANCELLED)
                    self._outcomes.append(StageOutcome(state.stage, StageStatus.CANCELLED))
            uow.videos.set_status(run.asset_id, VideoStatus.REGISTERED)

    def _hand_back(self, run: Run) -> None:
        """Give our unfinished stages back to the queue (the worker is stopping)."""
        with self._store.unit_of_work() as uow:
            current = uow.runs.lock(run.run_id)
            claims = uow.runs.claims(run.run_id)
            if current.status.is_terminal:
                return
            held = [name for name, token in claims.items() if token == self._token]
            requeued = uow.runs.requeue(run.run_id, held, "handed back: its worker stopped")
            if self._on_release is not None:
                self._on_release(uow, requeued)

    def _finish(self, run_id: str, video_id: str) -> Run:
        """Close the run once no stage is left: failed (with each failure) or completed.

        Another job of the run may still have stages pending or running; the last
        executor to get here closes it.
        """
        with self._store.unit_of_work() as uow:
            run = uow.runs.lock(run_id)
            unfinished = (StageStatus.PENDING, StageStatus.RUNNING)
            if run.status.is_terminal or any(s.status in unfinished for s in run.stages):
                return run
            failures = [
                f"{s.stage}: {s.error}" for s in run.stages if s.status is StageStatus.FAILED
            ]
            if failures:
                run = uow.runs.transition(run_id, RunStatus.FAILED, error="; ".join(failures))
                uow.videos.set_status(video_id, VideoStatus.FAILED)
            else:
                run = uow.runs.transition(run_id, RunStatus.COMPLETED)
                uow.videos.set_status(video_id, VideoStatus.READY)
            return run
