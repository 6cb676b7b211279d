"""``eioku library``: adding, listing, removing and scanning sources (runs execute in the
command, like ``eioku ingest``), one-line errors, and ``eioku serve`` following watched
sources."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from eioku.domain.runs import RunStatus
from eioku.domain.videos import Video, VideoStatus
from eioku.pipeline.local import LocalRunQueue
from eioku.storage.store import Store
from tests.cli.conftest import Cli, user_error
from tests.media import make_video
from tests.polling import wait_for


@pytest.fixture(autouse=True)
def _local_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Runs execute in the command on both engines (PostgreSQL would queue them)."""
    monkeypatch.setenv("EIOKU_EXECUTOR", "local")
    monkeypatch.setenv("EIOKU_MODEL_DIR", str(tmp_path / "models"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    (root / "trips").mkdir(parents=True)
    make_video(root / "a.mp4", seconds=2)
    make_video(root / "trips" / "b.mkv", seconds=3)
    (root / "readme.txt").write_text("not a video")
    return root


def _videos(store: Store) -> dict[str, Video]:
    with store.unit_of_work(write=False) as uow:
        return {Path(video.path).name: video for video in uow.videos.list()}


def _source_id(store: Store) -> str:
    with store.unit_of_work(write=False) as uow:
        (source,) = uow.sources.list_all()
    return source.source_id


def test_add_list_and_remove_a_source(cli: Cli, store: Store, folder: Path) -> None:
    added = cli("library", "add", str(folder / "trips" / ".."), "--watch", "--profile", "fast")
    assert added.exit_code == 0, added.output
    assert f"{folder} (watched, profile fast, all stages)" in added.stdout
    source_id = _source_id(store)
    listed = cli("library", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if source_id in line)
    assert row.split()[2:8] == ["yes", "fast", "all", "0", "0", "never"]
    cli("library", "scan", "--no-run")
    listed = cli("library", "list")
    row = next(line for line in listed.stdout.splitlines() if source_id in line)
    assert row.split()[2:7] == ["yes", "fast", "all", "2", "0"]

    removed = cli("library", "remove", source_id)
    assert removed.exit_code == 0, removed.output
    assert "its videos stay" in removed.stdout
    assert cli("library", "list").stdout.strip() == "no library sources"
    assert set(_videos(store)) == {"a.mp4", "b.mkv"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "{folder}/nope"), "no such folder"),
        (("add", "{folder}/a.mp4"), "is not a folder"),
        (("add", "{folder}"), "already a library source"),
        (("add", "{folder}/trips"), "overlaps the library source"),
        (("add", "{folder}/..", "--profile", "ultra"), "unknown profile"),
        (("add", "{folder}/..", "--stages", "metadata,telepathy"), "unknown stage"),
        (("remove", "nope"), "no library source 'nope'"),
        (("scan", "{folder}/trips"), "no library source"),
    ],
)
def test_bad_requests_are_one_line_errors(
    cli: Cli, folder: Path, args: tuple[str, ...], message: str
) -> None:
    assert cli("library", "add", str(folder)).exit_code == 0
    line = user_error(cli("library", *(arg.format(folder=folder) for arg in args)))
    assert message in line


def test_scanning_without_sources_says_how_to_add_one(cli: Cli) -> None:
    assert "eioku library add" in user_error(cli("library", "scan"))


def test_scan_registers_runs_and_reports_moves_and_missing_files(
    cli: Cli, store: Store, folder: Path, tmp_path: Path
) -> None:
    cli("library", "add", str(folder), "--stages", "metadata", "--profile", "fast")
    first = cli("library", "scan")
    assert first.exit_code == 0, first.output
    assert "2 new, 0 changed" in first.stdout
    assert "ingest summary" in first.stdout
    assert first.stdout.count("completed") == 2
    videos = _videos(store)
    assert {v.status for v in videos.values()} == {VideoStatus.READY}

    quiet = cli("library", "scan", str(folder))
    assert "2 unchanged" in quiet.stdout
    assert "ingest summary" not in quiet.stdout  # nothing to run

    (folder / "a.mp4").rename(folder / "trips" / "a-moved.mp4")
    shutil.move(folder / "trips" / "b.mkv", tmp_path / "b.mkv")
    moved = cli("library", "scan", _source_id(store))
    assert moved.exit_code == 0, moved.output
    assert "1 moved" in moved.stdout
    assert "1 missing" in moved.stdout
    assert "moved from" in moved.stdout
    after = _videos(store)
    assert after["a-moved.mp4"].video_id == videos["a.mp4"].video_id
    assert after["b.mkv"].status is VideoStatus.MISSING
    with store.unit_of_work(write=False) as uow:
        assert len(uow.runs.list_all()) == 2  # the move re-ran nothing


def test_scan_no_run_registers_only_and_failed_runs_exit_1(
    cli: Cli, store: Store, folder: Path
) -> None:
    cli("library", "add", str(folder), "--stages", "metadata")
    registered = cli("library", "scan", "--no-run")
    assert registered.exit_code == 0, registered.output
    assert "2 new" in registered.stdout
    with store.unit_of_work(write=False) as uow:
        assert uow.runs.list_all() == []
    (folder / "broken.mp4").write_bytes(b"not a video" * 100)
    ran = cli("library", "scan")
    assert ran.exit_code == 1  # broken.mp4's run failed
    assert "1 new" in ran.stdout
    assert "2 pending" in ran.stdout
    assert "1 with failures" in ran.stdout
    with store.unit_of_work(write=False) as uow:
        statuses = sorted(run.status for run in uow.runs.list_all())
    assert statuses == [RunStatus.COMPLETED, RunStatus.COMPLETED, RunStatus.FAILED]


def test_scan_queues_runs_for_workers_on_postgresql(
    cli: Cli, store: Store, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EIOKU_EXECUTOR", "auto")  # workers on PostgreSQL, local on SQLite
    cli("library", "add", str(folder), "--stages", "metadata")
    result = cli("library", "scan")
    assert result.exit_code == 0, result.output
    with store.unit_of_work(write=False) as uow:
        statuses = [run.status for run in uow.runs.list_all()]
    if store.dialect == "postgresql":
        assert statuses == [RunStatus.QUEUED] * 2
        assert result.stdout.count("queued") >= 2  # the summary says so
    else:
        assert statuses == [RunStatus.COMPLETED] * 2
    again = cli("library", "scan")
    assert "2 unchanged" in again.stdout
    with store.unit_of_work(write=False) as uow:
        assert len(uow.runs.list_all()) == 2  # nothing queued twice


def _finished_runs(store: Store) -> int:
    with store.unit_of_work(write=False) as uow:
        return sum(1 for run in uow.runs.list_all() if run.status.is_terminal)


def test_serve_follows_watched_sources_unless_told_not_to(
    cli: Cli, store: Store, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EIOKU_WATCH_STABLE_SECONDS", "0.5")
    cli("library", "add", str(folder), "--watch", "--stages", "metadata")
    seen: dict[str, Any] = {}

    def watchers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "eioku-library-watch"]

    def serving(api: FastAPI, **_options: Any) -> None:
        seen["watchers"] = len(watchers())
        if seen["watchers"]:
            make_video(tmp_path / "new.mp4", seconds=1, size=(32, 32))
            shutil.copy2(tmp_path / "new.mp4", folder / "new.mp4")
            seen["video"] = wait_for(lambda: _videos(store).get("new.mp4"))
            wait_for(lambda: _finished_runs(store) == 3)  # a.mp4, b.mkv, new.mp4
            queue: LocalRunQueue = api.state.run_queue
            queue.shutdown()

    monkeypatch.setattr(uvicorn, "run", serving)
    result = cli("serve", "--no-watch")
    assert result.exit_code == 0, result.output
    assert seen == {"watchers": 0}
    result = cli("serve")
    assert result.exit_code == 0, result.output
    assert seen["watchers"] == 1
    assert wait_for(lambda: not watchers(), 15)  # stopped with the server
    with store.unit_of_work(write=False) as uow:
        statuses = {run.status for run in uow.runs.list_all()}
    assert statuses == {RunStatus.COMPLETED}
    assert {v.status for v in _videos(store).values()} == {VideoStatus.READY}
