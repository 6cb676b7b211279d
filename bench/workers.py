"""Worker throughput and queue overhead on PostgreSQL, with real ``eioku worker`` processes.

Throughput: the same batch of short generated videos (real ``metadata`` + ``scenes``
stages, fast profile) is queued at once and drained by 1, 2 and 4 worker processes;
reported as runs per minute and media seconds processed per wall second.

Overhead: single near-empty jobs (``metadata`` of a one-second clip) submitted one after
the other to one idle worker; from Procrastinate's event log, enqueue -> start latency
and enqueue -> finished round trip.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from bench.report import Column, Table
from bench.scratch import scratch_database
from eioku.bootstrap import build_dispatcher
from eioku.config import Settings
from eioku.domain.profiles import ModelProfile
from eioku.domain.schemas.registry import load_registry
from eioku.media.synthetic import ShotSpec, make_video
from eioku.pipeline.ingest import register
from eioku.storage.store import Store

Say = Callable[[str], None]
WORKER_COUNTS = (1, 2, 4)
VIDEOS = 8
SECONDS = 15
STAGES = ("metadata", "scenes")
ROUND_TRIPS = 20
EIOKU = str(Path(sys.executable).with_name("eioku"))


def _clips(folder: Path, count: int, seconds: int, size: tuple[int, int]) -> list[Path]:
    colours = [(200, 40, 40), (40, 180, 60), (40, 60, 200), (220, 200, 40)]
    paths = []
    for index in range(count):
        shots = [
            ShotSpec(1000, colours[(index + k) % len(colours)], motion=True) for k in range(seconds)
        ]
        path = folder / f"clip{index}.mp4"
        make_video(path, shots=shots, size=size, fps=15)
        paths.append(path)
    return paths


def _start_workers(url: str, count: int, folder: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "EIOKU_DATABASE_URL": url, "EIOKU_MODEL_DIR": str(folder / "models")}
    return [
        subprocess.Popen(
            [EIOKU, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(count)
    ]


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        process.terminate()
    for process in workers:
        process.wait(timeout=60)


def _wait(condition: Callable[[], bool], seconds: float = 600.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not finish in time")
        time.sleep(0.05)


def _scalar(store: Store, query: str) -> float:
    with store.unit_of_work(write=False) as uow:
        return float(uow.connection.execute(text(query)).scalar() or 0)


def _throughput(count: int, clips: list[Path], folder: Path, say: Say) -> tuple[str, ...]:
    with scratch_database("postgresql") as url:
        store = Store(url, load_registry())
        try:
            store.upgrade()
            dispatcher = build_dispatcher(Settings(database_url=url), store)
            videos = [register(store, clip) for clip in clips]
            workers = _start_workers(url, count, folder)
            try:
                alive = "SELECT count(*) FROM procrastinate_workers"
                _wait(lambda: _scalar(store, alive) >= count, 120)
                started = time.perf_counter()
                for video in videos:
                    dispatcher.submit(video, ModelProfile.FAST, STAGES)
                done = "SELECT count(*) FROM runs WHERE status IN ('completed','failed')"
                _wait(lambda: _scalar(store, done) >= len(videos))
                elapsed = time.perf_counter() - started
            finally:
                _stop(workers)
            failed = _scalar(store, "SELECT count(*) FROM runs WHERE status = 'failed'")
        finally:
            store.dispose()
    media = sum(video.duration_ms or 0 for video in videos) / 1000
    say(f"  {count} workers: {len(videos)} runs in {elapsed:.1f} s")
    return (
        str(count),
        str(len(videos)),
        f"{elapsed:.1f}",
        f"{len(videos) / elapsed * 60:.1f}",
        f"{media / elapsed:.1f}",
        str(int(failed)),
    )


def _overhead(clip: Path, say: Say) -> tuple[list[float], list[float]]:
    with scratch_database("postgresql") as url:
        store = Store(url, load_registry())
        try:
            store.upgrade()
            dispatcher = build_dispatcher(Settings(database_url=url), store)
            video = register(store, clip)
            workers = _start_workers(url, 1, clip.parent)
            try:
                _wait(lambda: _scalar(store, "SELECT count(*) FROM procrastinate_workers") >= 1)
                done = "SELECT count(*) FROM runs WHERE status = 'completed'"
                for number in range(1, ROUND_TRIPS + 1):
                    dispatcher.submit(video, ModelProfile.FAST, ("metadata",), force=True)
                    _wait(lambda n=number: _scalar(store, done) >= n, 60)
            finally:
                _stop(workers)
            with store.unit_of_work(write=False) as uow:
                rows = uow.connection.execute(
                    text(
                        "SELECT max(at) FILTER (WHERE type = 'started') "
                        "- max(at) FILTER (WHERE type = 'deferred'), "
                        "max(at) FILTER (WHERE type = 'succeeded') "
                        "- max(at) FILTER (WHERE type = 'deferred') "
                        "FROM procrastinate_events GROUP BY job_id"
                    )
                ).all()
        finally:
            store.dispose()
    say(f"  overhead: {len(rows)} jobs")
    starts = [start.total_seconds() * 1000 for start, _ in rows if start is not None]
    trips = [trip.total_seconds() * 1000 for _, trip in rows if trip is not None]
    return starts, trips


def _p(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}" if ordered else "-"


def run(say: Say) -> list[Table]:
    """Both measurements; the tables to print."""
    folder = Path(tempfile.mkdtemp(prefix="eioku-bench-workers-"))
    say(f"workers: {VIDEOS} clips of {SECONDS} s at 640x360, stages {', '.join(STAGES)}")
    clips = _clips(folder, VIDEOS, SECONDS, (640, 360))
    (folder / "tiny").mkdir()
    tiny = _clips(folder / "tiny", 1, 1, (160, 120))
    throughput = Table(
        "Worker throughput (PostgreSQL, real metadata + scenes, fast profile)",
        (
            Column("workers", numeric=True),
            Column("runs", numeric=True),
            Column("wall s", numeric=True),
            Column("runs/min", numeric=True),
            Column("media s per s", numeric=True),
            Column("failed", numeric=True),
        ),
        note=f"{VIDEOS} generated clips of {SECONDS} s, 640x360 at 15 fps, queued at once.",
    )
    for count in WORKER_COUNTS:
        throughput.add(*_throughput(count, clips, folder, say))
    starts, trips = _overhead(tiny[0], say)
    overhead = Table(
        "Queue overhead per job (one idle worker, LISTEN/NOTIFY)",
        (
            Column("measure"),
            Column("p50 ms", numeric=True),
            Column("p90 ms", numeric=True),
            Column("mean ms", numeric=True),
        ),
        note=f"{ROUND_TRIPS} sequential runs of 'metadata' on a 1 s 160x120 clip.",
    )
    for label, values in (("enqueue -> start", starts), ("enqueue -> finished", trips)):
        mean = f"{statistics.fmean(values):.1f}" if values else "-"
        overhead.add(label, _p(values, 0.5), _p(values, 0.9), mean)
    return [throughput, overhead]
