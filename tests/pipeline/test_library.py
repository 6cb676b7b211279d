"""Library sources on both engines: scans register, follow moves, mark missing files, and
schedule through plan_run; watching picks files up once they stop changing (real
watchfiles, real files). Stages are ``metadata`` and the stand-ins of standins.py."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from eioku.config import Settings
from eioku.domain.errors import Conflict, InvalidInput, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.videos import Video, VideoStatus
from eioku.pipeline import stages as stage_registry
from eioku.pipeline.ingest import Plan, file_hash
from eioku.pipeline.library import (
    ScanReport,
    add_source,
    find_source,
    planner,
    remove_source,
    scan_source,
)
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.runner import RunExecutor
from eioku.pipeline.watching import start_watching
from eioku.storage.store import Store
from eioku.storage.tables import scene_ranges
from tests.media import make_video
from tests.pipeline import standins
from tests.polling import wait_for


@pytest.fixture(autouse=True)
def _standins(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, target in standins.STANDINS.items():
        monkeypatch.setitem(stage_registry._STAGES, name, target)


@pytest.fixture
def models(tmp_path: Path) -> ModelLibrary:
    return ModelLibrary(tmp_path / "models")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A library folder: two videos, plus files a scan must ignore."""
    root = tmp_path / "library"
    (root / "trips" / ".cache").mkdir(parents=True)
    (root / ".hidden").mkdir()
    make_video(root / "a.mp4", seconds=2)
    make_video(root / "trips" / "B.MOV", seconds=3)
    make_video(root / "trips" / ".cache" / "c.mp4", seconds=1)
    make_video(root / ".hidden" / "d.mp4", seconds=1)
    make_video(root / ".e.mp4", seconds=1)
    (root / "notes.txt").write_text("not a video")
    return root


class Recording:
    """A Schedule that plans with plan_run and remembers every call."""

    def __init__(self, store: Store, models: ModelLibrary) -> None:
        self.calls: list[tuple[Video, ModelProfile, tuple[str, ...]]] = []
        self.plans: list[Plan] = []
        self._inner = planner(store, models, enqueue=self.plans.append)
        self._lock = threading.Lock()

    def __call__(self, video: Video, profile: ModelProfile, stages: Sequence[str], /) -> Plan:
        with self._lock:
            self.calls.append((video, profile, tuple(stages)))
        return self._inner(video, profile, stages)

    def paths(self) -> list[str]:
        return [video.path for video, _, _ in self.calls]


@pytest.fixture
def schedule(store: Store, models: ModelLibrary) -> Recording:
    return Recording(store, models)


def _execute(store: Store, models: ModelLibrary, plans: list[Plan]) -> None:
    for plan in plans:
        assert plan.run is not None
        RunExecutor(store, models).execute(plan.run.run_id)
    plans.clear()


def _video(store: Store, video_id: str) -> Video:
    with store.unit_of_work(write=False) as uow:
        return uow.videos.get(video_id)


def _by_path(store: Store, path: Path) -> Video | None:
    with store.unit_of_work(write=False) as uow:
        return uow.sources.video_at(str(path))


def _paths(entries: Sequence[Any]) -> set[str]:
    return {entry.path for entry in entries}


def _counts(report: ScanReport) -> dict[str, int]:
    counts = {name: len(getattr(report, name)) for name in ScanReport.CATEGORIES}
    return {**counts, "unchanged": report.unchanged}


def _expect(report: ScanReport, **nonzero: int) -> None:
    expected = dict.fromkeys((*ScanReport.CATEGORIES, "unchanged"), 0)
    assert _counts(report) == {**expected, **nonzero}, report


def test_a_scan_registers_new_videos_and_schedules_the_source_profile_and_stages(
    store: Store, schedule: Recording, folder: Path
) -> None:
    source = add_source(store, folder, profile=ModelProfile.FAST, stages=("metadata",))
    report = scan_source(store, source, schedule)
    _expect(report, new=2)
    expected = {str(folder / "a.mp4"), str(folder / "trips" / "B.MOV")}
    assert _paths(report.new) == expected
    assert set(schedule.paths()) == expected  # hidden files, hidden folders, .txt: ignored
    assert {(profile, stages) for _, profile, stages in schedule.calls} == {
        (ModelProfile.FAST, ("metadata",))
    }
    assert all(entry.run_id for entry in report.new)
    assert sorted(report.run_ids) == sorted(p.run.run_id for p in schedule.plans if p.run)
    with store.unit_of_work(write=False) as uow:
        assert {v.path for v in uow.sources.videos_under(str(folder))} == expected
        assert uow.sources.get(source.source_id).last_scan_at is not None

    again = scan_source(store, source, schedule)
    _expect(again, unchanged=2)
    assert len(schedule.calls) == 2  # queued runs are not queued twice


def test_a_moved_file_keeps_its_video_id_artifacts_and_timeline(
    store: Store, models: ModelLibrary, schedule: Recording, folder: Path
) -> None:
    source = add_source(store, folder, stages=("metadata", "test_marks"))
    scan_source(store, source, schedule)
    _execute(store, models, schedule.plans)
    old = folder / "a.mp4"
    video = _by_path(store, old)
    assert video is not None
    assert _video(store, video.video_id).status is VideoStatus.READY

    def projection() -> list[tuple[Any, ...]]:
        query = select(scene_ranges.c.artifact_id, scene_ranges.c.timeline_at).where(
            scene_ranges.c.asset_id == video.video_id
        )
        with store.unit_of_work(write=False) as uow:
            return sorted(tuple(row) for row in uow.connection.execute(query))

    before = projection()
    assert len(before) == 4  # one mark every 500 ms of 2 s
    new = folder / "trips" / "renamed.mp4"
    old.rename(new)
    calls = len(schedule.calls)

    report = scan_source(store, source, schedule)
    _expect(report, moved=1, unchanged=1)
    (entry,) = report.moved
    assert (entry.path, entry.video_id) == (str(new), video.video_id)
    assert str(old) in entry.detail
    assert len(schedule.calls) == calls  # nothing re-runs
    moved = _video(store, video.video_id)
    assert (moved.path, moved.filename, moved.file_hash) == (str(new), new.name, video.file_hash)
    assert moved.status is VideoStatus.READY
    assert moved.timeline_at == video.timeline_at
    assert projection() == before
    assert _by_path(store, old) is None


def test_a_changed_file_is_registered_again_and_scheduled_a_touched_one_is_not(
    store: Store, models: ModelLibrary, schedule: Recording, folder: Path
) -> None:
    source = add_source(store, folder, stages=("metadata",))
    scan_source(store, source, schedule)
    _execute(store, models, schedule.plans)
    path = folder / "a.mp4"
    video = _by_path(store, path)
    assert video is not None

    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 60))  # same content, newer mtime
    _expect(scan_source(store, source, schedule), unchanged=2)
    assert len(schedule.calls) == 2

    make_video(path, seconds=4)  # new content at the same path
    os.utime(path, (stat.st_atime, stat.st_mtime + 120))
    report = scan_source(store, source, schedule)
    _expect(report, changed=1, unchanged=1)
    (entry,) = report.changed
    assert entry.video_id == video.video_id
    assert entry.run_id is not None  # the new content is not done yet
    changed = _video(store, video.video_id)
    assert changed.file_hash == file_hash(path) != video.file_hash
    assert changed.duration_ms == 4000
    assert schedule.calls[-1][0].file_hash == changed.file_hash


def test_deleted_files_are_marked_missing_and_restored_when_they_come_back(
    store: Store, models: ModelLibrary, schedule: Recording, folder: Path, tmp_path: Path
) -> None:
    source = add_source(store, folder, stages=("metadata",))
    scan_source(store, source, schedule)
    _execute(store, models, schedule.plans)
    a, b = folder / "a.mp4", folder / "trips" / "B.MOV"
    video_a, video_b = _by_path(store, a), _by_path(store, b)
    assert video_a is not None
    assert video_b is not None
    aside = tmp_path / "aside"
    aside.mkdir()
    shutil.move(a, aside / a.name)
    shutil.move(b, aside / b.name)
    report = scan_source(store, source, schedule)
    _expect(report, missing=2)
    assert {entry.detail for entry in report.missing} == {"file is gone"}
    for video in (video_a, video_b):
        kept = _video(store, video.video_id)  # marked, not deleted
        assert kept.status is VideoStatus.MISSING
        assert kept.path == video.path
    assert {e.detail for e in scan_source(store, source, schedule).missing} == {"still missing"}

    shutil.move(aside / a.name, a)  # back where it was
    shutil.move(aside / b.name, folder / "found.mov")  # back elsewhere: moved
    report = scan_source(store, source, schedule)
    _expect(report, restored=1, moved=1)
    assert report.restored[0].video_id == video_a.video_id
    assert report.moved[0].video_id == video_b.video_id
    assert _video(store, video_a.video_id).status is VideoStatus.READY
    found = _video(store, video_b.video_id)
    assert (found.status, found.path) == (VideoStatus.READY, str(folder / "found.mov"))
    assert len(schedule.calls) == 2  # nothing re-ran


def test_a_copy_of_a_present_file_is_a_new_video(
    store: Store, schedule: Recording, folder: Path
) -> None:
    source = add_source(store, folder, stages=("metadata",))
    scan_source(store, source, schedule)
    shutil.copy2(folder / "a.mp4", folder / "a copy.mp4")
    report = scan_source(store, source, schedule)
    _expect(report, new=1, unchanged=2)
    original = _by_path(store, folder / "a.mp4")
    copy = _by_path(store, folder / "a copy.mp4")
    assert original is not None
    assert copy is not None
    assert copy.video_id != original.video_id
    assert copy.file_hash == original.file_hash


def test_no_run_only_registers_and_a_later_scan_schedules_what_never_ran(
    store: Store, schedule: Recording, folder: Path
) -> None:
    source = add_source(store, folder, stages=("metadata",))
    report = scan_source(store, source, None)
    _expect(report, new=2)
    assert report.run_ids == []
    with store.unit_of_work(write=False) as uow:
        assert uow.runs.list_all() == []
    later = scan_source(store, source, schedule)
    _expect(later, pending=2)
    assert len(later.run_ids) == 2
    _expect(scan_source(store, source, schedule), unchanged=2)


def test_a_vanished_source_folder_changes_nothing(
    store: Store, schedule: Recording, folder: Path
) -> None:
    source = add_source(store, folder, stages=("metadata",))
    scan_source(store, source, schedule)
    folder.rename(folder.with_name("unmounted"))
    report = scan_source(store, source, schedule)
    _expect(report, errors=1)
    assert "unmounted" in report.errors[0].detail
    with store.unit_of_work(write=False) as uow:
        statuses = {v.status for v in uow.sources.videos_under(str(folder))}
    assert statuses == {VideoStatus.REGISTERED}


def test_unreadable_files_are_reported_and_the_rest_is_scanned(
    store: Store, schedule: Recording, folder: Path
) -> None:
    broken = folder / "broken.mp4"
    broken.symlink_to(folder / "nowhere.mp4")
    source = add_source(store, folder, stages=("metadata",))
    report = scan_source(store, source, schedule)
    _expect(report, new=2, errors=1)
    assert report.errors[0].path == str(folder / "nowhere.mp4")


def test_sources_are_checked_found_by_id_or_folder_and_removed_without_their_videos(
    store: Store, schedule: Recording, folder: Path
) -> None:
    with pytest.raises(NotFound, match="no such folder"):
        add_source(store, folder / "nope")
    with pytest.raises(InvalidInput, match="is not a folder"):
        add_source(store, folder / "a.mp4")
    with pytest.raises(InvalidInput, match="unknown stage"):
        add_source(store, folder, stages=("metadata", "telepathy"))
    source = add_source(store, folder / "trips" / "..", watch=True)
    assert source.path == str(folder)
    assert source.stages == ()  # every stage
    with pytest.raises(Conflict, match="already a library source"):
        add_source(store, folder)
    with pytest.raises(Conflict, match="overlaps"):
        add_source(store, folder / "trips")
    with pytest.raises(Conflict, match="overlaps"):
        add_source(store, folder.parent)
    assert find_source(store, source.source_id) == source
    assert find_source(store, str(folder / "trips" / "..")).source_id == source.source_id
    with pytest.raises(NotFound):
        find_source(store, "nope")
    scan_source(store, source, None)
    assert remove_source(store, str(folder)).source_id == source.source_id
    with store.unit_of_work(write=False) as uow:
        assert uow.sources.list_all() == []
        assert len(uow.sources.videos_under(str(folder))) == 2  # the videos stay


# Watching: real watchfiles on real files, with a short stability time.


@pytest.fixture
def watching(store: Store, schedule: Recording) -> Iterator[Callable[[], None]]:
    handles: list[Any] = []

    def start() -> None:
        settings = Settings(database_url="sqlite://", watch_stable_seconds=1.0)
        handles.append(start_watching(store, settings, schedule, refresh_seconds=0.3))

    yield start
    for handle in handles:
        handle.stop()
        assert not handle.running


def test_watching_catches_up_then_picks_up_new_files(
    store: Store, schedule: Recording, folder: Path, tmp_path: Path, watching: Callable[[], None]
) -> None:
    watching()  # no source yet: the watcher waits for one
    add_source(store, folder, watch=True, stages=("metadata",))
    wait_for(lambda: _by_path(store, folder / "trips" / "B.MOV"))  # catch-up scan
    made = make_video(tmp_path / "new.mp4", seconds=1, size=(32, 32))
    target = folder / "trips" / "new.mp4"
    shutil.copy2(made, target)
    video = wait_for(lambda: _by_path(store, target))
    assert video.file_hash == file_hash(made)
    wait_for(lambda: str(target) in schedule.paths())
    (notes := folder / "more notes.txt").write_text("ignored")
    assert _by_path(store, notes) is None


def test_watching_waits_until_a_file_being_copied_stops_changing(
    store: Store, schedule: Recording, folder: Path, tmp_path: Path, watching: Callable[[], None]
) -> None:
    add_source(store, folder, watch=True, stages=("metadata",))
    watching()
    wait_for(lambda: _by_path(store, folder / "a.mp4"))
    data = make_video(tmp_path / "long.mp4", seconds=4, size=(96, 64)).read_bytes()
    target = folder / "slow copy.mp4"
    chunk = len(data) // 12 + 1
    with target.open("wb") as out:  # a slow copy: a piece every 0.2 s, well under 1 s apart
        for start in range(0, len(data), chunk):
            out.write(data[start : start + chunk])
            out.flush()
            time.sleep(0.2)
    video = wait_for(lambda: _by_path(store, target))
    assert video.file_size == len(data)
    assert video.duration_ms == 4000
    hashes = {v.file_hash for v, _, _ in schedule.calls if v.path == str(target)}
    assert hashes == {file_hash(target)}  # never scheduled half-written


def test_watching_notices_deleted_files(
    store: Store, schedule: Recording, folder: Path, watching: Callable[[], None]
) -> None:
    add_source(store, folder, watch=True, stages=("metadata",))
    watching()
    video = wait_for(lambda: _by_path(store, folder / "a.mp4"))
    (folder / "a.mp4").unlink()
    wait_for(lambda: _video(store, video.video_id).status is VideoStatus.MISSING)
