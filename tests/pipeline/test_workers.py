"""Scale-out on PostgreSQL with REAL ``eioku worker`` processes (started with subprocess)
on scratch databases: draining a queue, kill -9 recovery, a poison job, cancelling, the
database restarting, duplicate submits, and the queue/metrics views.

The stages are mostly the stand-ins of tests/pipeline/standins.py and
tests/pipeline/worker_standins.py (slow, crashing, failing-batch stand-ins; NOT engines),
declared as an ``eioku.stages`` plugin on the workers' PYTHONPATH; ``metadata`` and
``scenes`` are the real stages. Worker timings (heartbeat, stall threshold, backoff) are
shortened through their EIOKU_* settings so recovery happens within seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from eioku.api.app import create_app
from eioku.bootstrap import build_dispatcher
from eioku.cli import app as cli_app
from eioku.config import Settings
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, RunStatus, StageStatus
from eioku.domain.schemas.registry import SchemaRegistry
from eioku.pipeline import stages as stage_registry
from eioku.pipeline.dispatch import Dispatcher
from eioku.pipeline.ingest import register
from eioku.storage.artifacts import SpanFilter
from eioku.storage.store import Store
from tests.conftest import PostgresDatabases
from tests.media import make_video
from tests.pipeline.worker_standins import WORKER_STANDINS, write_worker_plugin_site
from tests.polling import wait_for

EIOKU = str(Path(sys.executable).with_name("eioku"))
FAST = ModelProfile.FAST
WAIT = 90.0


@pytest.fixture(autouse=True)
def _standins(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, target in WORKER_STANDINS.items():
        monkeypatch.setitem(stage_registry._STAGES, name, target)


class Cluster:
    """Worker processes and the database they share, for one test."""

    def __init__(self, url: str, registry: SchemaRegistry, tmp: Path, **settings: Any) -> None:
        self.url = url
        self.tmp = tmp
        self.marks = tmp / "marks"
        self.marks.mkdir(exist_ok=True)
        self.store = Store(url, registry)
        self.store.upgrade()
        self.settings = Settings(database_url=url, model_dir=tmp / "models", **settings)
        self.dispatcher: Dispatcher = build_dispatcher(self.settings, self.store)
        self.env = {
            **os.environ,
            "PYTHONPATH": write_worker_plugin_site(tmp / "site"),
            "EIOKU_DATABASE_URL": url,
            "EIOKU_MODEL_DIR": str(tmp / "models"),
            "EIOKU_WORKER_HEARTBEAT_SECONDS": "0.5",
            "EIOKU_WORKER_STALL_SECONDS": "3",
            "EIOKU_WORKER_CHECK_SECONDS": "1",
            "EIOKU_JOB_RETRIES": "1",
            "EIOKU_JOB_RETRY_BACKOFF_SECONDS": "1",
            "EIOKU_WORKER_SHUTDOWN_SECONDS": "1",
            "EIOKU_TEST_MARKS": str(self.marks),
            "EIOKU_TEST_SLOW_SECONDS": "0.2",
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self._logs = 0

    def start_worker(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        self._logs += 1
        with (self.tmp / f"worker-{self._logs}.log").open("wb") as log:
            process = subprocess.Popen(
                [EIOKU, "worker", *args],
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.tmp.glob("worker-*.log"))
        )

    def submit(self, name: str, *stages: str, seconds: int = 3) -> Run:
        clip = make_video(self.tmp / f"{name}.mp4", seconds=seconds, fps=10, size=(96, 64))
        plan = self.dispatcher.submit(register(self.store, clip), FAST, stages)
        assert plan.run is not None
        return plan.run

    def run(self, run_id: str) -> Run:
        with self.store.unit_of_work(write=False) as uow:
            return uow.runs.get(run_id)

    def wait_run(self, run_id: str, seconds: float = WAIT) -> Run:
        wait_for(lambda: self.run(run_id).status.is_terminal, seconds, self.logs)
        return self.run(run_id)

    def artifacts(self, run: Run, artifact_type: str) -> list[Any]:
        with self.store.unit_of_work(write=False) as uow:
            return uow.artifacts.get_by_asset(
                run.asset_id, SpanFilter(artifact_type=artifact_type, run_id=run.run_id)
            )

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.store.unit_of_work(write=False) as uow:
            return list(uow.connection.execute(text(query), params).all())

    def jobs(self, run_id: str) -> list[Any]:
        return self.sql(
            "SELECT id, status, attempts, args FROM procrastinate_jobs "
            "WHERE args->>'run_id' = :r ORDER BY id",
            r=run_id,
        )

    def close(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.store.dispose()


@pytest.fixture
def cluster(
    postgres_databases: PostgresDatabases, registry: SchemaRegistry, tmp_path: Path
) -> Iterator[Cluster]:
    made = Cluster(postgres_databases.create(), registry, tmp_path)
    yield made
    made.close()


def _spans(found: list[Any]) -> list[int]:
    return sorted(a.span_start_ms for a in found)


def test_two_workers_drain_the_queue_each_run_once_and_a_failing_stage_stays_local(
    cluster: Cluster,
) -> None:
    good = [cluster.submit(f"clip{i}", "metadata", "test_marks") for i in range(5)]
    bad = cluster.submit("bad", "test_marks", "test_bad_batch")
    real = cluster.submit("real", "scenes")
    gone = cluster.submit("gone", "test_marks")
    (cluster.tmp / "gone.mp4").unlink()  # the worker cannot see this file
    cluster.start_worker("--concurrency", "1")
    cluster.start_worker("--concurrency", "1")
    for run in good:
        done = cluster.wait_run(run.run_id)
        assert done.status is RunStatus.COMPLETED, done
        assert _spans(cluster.artifacts(run, "scene")) == [0, 500, 1000, 1500, 2000, 2500]
        assert len(cluster.artifacts(run, "video.metadata")) == 1
    failed = cluster.wait_run(bad.run_id)
    assert failed.status is RunStatus.FAILED
    assert {s.stage: s.status for s in failed.stages} == {
        "test_marks": StageStatus.COMPLETED,
        "test_bad_batch": StageStatus.FAILED,
    }
    assert "scene_index" in (failed.error or "")
    assert cluster.wait_run(real.run_id).status is RunStatus.COMPLETED
    assert len(cluster.artifacts(real, "scene")) == 3  # one colour a second: three shots
    missing = cluster.wait_run(gone.run_id)
    assert missing.status is RunStatus.FAILED
    assert "not found on worker host" in (missing.error or ""), missing.error
    # Every job was started exactly once: no run was executed twice, nor concurrently.
    started = cluster.sql(
        "SELECT job_id, count(*) FROM procrastinate_events WHERE type = 'started' GROUP BY job_id"
    )
    assert len(started) == 8
    assert {count for _job, count in started} == {1}
    assert all(process.poll() is None for process in cluster.workers)


def test_kill_9_mid_stage_requeues_and_the_run_finishes_with_exact_artifacts(
    cluster: Cluster,
) -> None:
    run = cluster.submit("victim", "metadata", "test_slow", seconds=4)
    victim = cluster.start_worker()
    wait_for(lambda: any(cluster.marks.iterdir()), WAIT, cluster.logs)
    assert cluster.run(run.run_id).status is RunStatus.RUNNING
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    cluster.start_worker()
    done = cluster.wait_run(run.run_id)
    assert done.status is RunStatus.COMPLETED, done
    assert "requeued: its worker stopped responding" in (done.error or "")
    spans = _spans(cluster.artifacts(run, "scene"))
    assert spans == list(range(0, 4000, 500))  # no duplicates, no gaps
    assert len(cluster.artifacts(run, "video.metadata")) == 1  # kept from before the kill
    statuses = [row.status for row in cluster.jobs(run.run_id)]
    assert statuses == ["failed", "succeeded"]  # the stalled job, then its retry


def test_a_poison_job_fails_after_bounded_retries_and_the_queue_keeps_moving(
    cluster: Cluster,
) -> None:
    poison = cluster.submit("poison", "test_crash")
    after = cluster.submit("after", "test_marks")
    deadline = time.monotonic() + WAIT
    worker = cluster.start_worker()
    while not cluster.run(poison.run_id).status.is_terminal:
        assert time.monotonic() < deadline, cluster.logs()
        if worker.poll() is not None:  # a supervisor (systemd) restarts a crashed worker
            worker = cluster.start_worker()
        time.sleep(0.2)
    failed = cluster.run(poison.run_id)
    assert failed.status is RunStatus.FAILED
    assert "no retries left" in (failed.error or ""), failed.error
    assert [s.status for s in failed.stages] == [StageStatus.FAILED]
    assert len(cluster.jobs(poison.run_id)) == 2  # the first try and one retry (retries=1)
    if worker.poll() is not None:
        cluster.start_worker()
    assert cluster.wait_run(after.run_id).status is RunStatus.COMPLETED


def test_cancelling_a_running_run_stops_its_worker_job_within_seconds(cluster: Cluster) -> None:
    run = cluster.submit("long", "test_slow", seconds=20)
    worker = cluster.start_worker()
    wait_for(lambda: any(cluster.marks.iterdir()), WAIT, cluster.logs)
    result = CliRunner().invoke(
        cli_app, ["--database-url", cluster.url, "runs", "cancel", run.run_id]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"run {run.run_id} cancelled"
    wait_for(lambda: cluster.jobs(run.run_id)[0].status == "aborted", 15, cluster.logs)
    cancelled = cluster.run(run.run_id)
    assert cancelled.status is RunStatus.CANCELLED
    assert [s.status for s in cancelled.stages] == [StageStatus.CANCELLED]
    assert cluster.artifacts(run, "scene") == []
    again = CliRunner().invoke(
        cli_app, ["--database-url", cluster.url, "runs", "cancel", run.run_id]
    )
    assert again.exit_code == 1
    next_run = cluster.submit("next", "test_marks")
    assert cluster.wait_run(next_run.run_id).status is RunStatus.COMPLETED
    assert worker.poll() is None


def test_duplicate_submits_return_the_same_run_and_queue_one_job(cluster: Cluster) -> None:
    first = cluster.submit("dup", "metadata", "test_marks")
    video = register(cluster.store, cluster.tmp / "dup.mp4")
    again = cluster.dispatcher.submit(video, FAST, ("metadata", "test_marks"))
    part = cluster.dispatcher.submit(video, FAST, ("test_marks",))
    assert again.reused
    assert part.reused
    assert again.run is not None
    assert again.run.run_id == first.run_id
    assert part.run is not None
    assert part.run.run_id == first.run_id
    assert len(cluster.jobs(first.run_id)) == 1
    other = cluster.dispatcher.submit(video, ModelProfile.BALANCED, ("test_marks",))
    assert other.run is not None  # another profile is other work
    assert not other.reused


def test_stages_on_several_queues_get_one_job_each_and_close_the_run_once(
    postgres_databases: PostgresDatabases, registry: SchemaRegistry, tmp_path: Path
) -> None:
    made = Cluster(
        postgres_databases.create(), registry, tmp_path, stage_queues={"test_slow": "gpu"}
    )
    try:
        run = made.submit("split", "metadata", "test_marks", "test_slow")
        queues = sorted(row.args["stages"] == ["test_slow"] for row in made.jobs(run.run_id))
        assert queues == [False, True]
        cpu = made.start_worker("--queues", "eioku")
        wait_for(lambda: made.jobs(run.run_id)[0].status == "succeeded", WAIT, made.logs)
        assert made.run(run.run_id).status is RunStatus.RUNNING  # the gpu part is waiting
        made.start_worker("--queues", "gpu")
        done = made.wait_run(run.run_id)
        assert done.status is RunStatus.COMPLETED
        assert len(made.artifacts(run, "scene")) == 12  # 6 from each frame stand-in
        assert cpu.poll() is None
    finally:
        made.close()


def test_queue_status_and_metrics_over_http(cluster: Cluster) -> None:
    run = cluster.submit("seen", "test_marks")
    app = create_app(cluster.settings, store=cluster.store)
    with TestClient(app) as client:
        queue = client.get("/v1/queue").json()
        assert queue["workers"] is True
        assert queue["depth"] == {"eioku": 1}
        again = client.post(
            f"/v1/videos/{run.asset_id}/runs", json={"profile": "fast", "stages": ["test_marks"]}
        )
        assert again.status_code == 200  # already queued: the same run
        assert again.json()["run_id"] == run.run_id
        cluster.start_worker()
        cluster.wait_run(run.run_id)
        wait_for(lambda: client.get("/v1/queue").json()["workers_alive"] == 1, WAIT)
        metrics = client.get("/metrics")
    assert metrics.status_code == 200
    body = metrics.text
    assert 'eioku_runs{status="completed"} 1.0' in body
    assert 'eioku_jobs{queue="eioku",status="succeeded"} 1.0' in body
    assert 'eioku_artifacts{artifact_type="scene"} 6.0' in body
    assert "eioku_workers_alive 1.0" in body


def test_worker_refuses_sqlite_and_an_unreachable_database(tmp_path: Path) -> None:
    sqlite = CliRunner().invoke(
        cli_app, ["--database-url", f"sqlite:///{tmp_path / 'x.db'}", "worker"]
    )
    assert sqlite.exit_code == 1
    assert "workers need PostgreSQL" in sqlite.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://postgres@127.0.0.1:{port}/nothing"
    down = CliRunner().invoke(cli_app, ["--database-url", url, "worker"])
    assert down.exit_code == 1
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: reach the database:"), lines


# -- the database restarting: a throwaway cluster of our own (never the shared server) ---


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return found[0].parent if found else None


class Throwaway:
    """A PostgreSQL cluster started for one test on a free port, as user postgres."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="eioku-pg-", dir="/tmp"))
        shutil.chown(self.dir, "postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._pg(
            "initdb",
            "-D",
            str(self.dir / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        self.start()

    def _pg(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.dir, timeout=120)

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._pg(
            "pg_ctl",
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-o",
            options,
            action,
            *extra,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop_for(self, seconds: float) -> None:
        """Shut the server down (fast: connections are cut), stay down, start it again."""
        self._ctl("stop", "-m", "fast")
        time.sleep(seconds)
        self.start()

    def url(self) -> str:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE eioku")
        return f"postgresql://postgres@127.0.0.1:{self.port}/eioku"

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.skipif(_pg_bin() is None, reason="needs PostgreSQL server binaries")
def test_workers_reconnect_after_the_database_restarts(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    bin_dir = _pg_bin()
    assert bin_dir is not None
    server = Throwaway(bin_dir)
    made: Cluster | None = None
    try:
        made = Cluster(server.url(), registry, tmp_path)
        runs = [made.submit(f"r{i}", "metadata", "test_slow", seconds=3) for i in range(3)]
        worker = made.start_worker()
        wait_for(lambda: any(made.marks.iterdir()), WAIT, made.logs)  # type: ignore[union-attr]
        made.store.dispose()
        server.stop_for(12)  # longer than the pool timeout: the worker must reconnect
        for run in runs:
            done = made.wait_run(run.run_id, 120)
            assert done.status in (RunStatus.COMPLETED, RunStatus.FAILED), done
            if done.status is RunStatus.COMPLETED:
                assert _spans(made.artifacts(run, "scene")) == list(range(0, 3000, 500))
                assert len(made.artifacts(run, "video.metadata")) == 1
            else:
                assert done.error
        assert worker.poll() is None  # it survived and reconnected
        assert "reconnecting in" in made.logs() or "restarting" in made.logs()
        assert sum(r.status is RunStatus.COMPLETED for r in map(made.run, [r.run_id for r in runs]))
    finally:
        if made is not None:
            made.close()
        server.stop()
