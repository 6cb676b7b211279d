"""Library sources: folders whose videos are registered, kept up to date and scheduled.

A scan walks a source folder like :func:`~eioku.pipeline.ingest.discover` and compares
what it finds with what the library knows under that folder:

- a known path whose size and modification time did not change is left alone;
- a known path whose content changed is registered again (new content hash) and scheduled;
- a new path whose content matches a registered video whose file is gone is that video,
  **moved**: only its path changes (same video_id, artifacts and timeline), nothing re-runs;
- any other new path is registered and scheduled with the source's profile and stages;
- a registered video under the folder whose file is gone is marked ``missing`` (never
  deleted), and goes back to its former status when the file reappears.

Scheduling goes through a :class:`Schedule` callable, so the same scan queues runs in a
local pool, executes them in the CLI, or enqueues them in PostgreSQL's task queue.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from eioku.domain.errors import EiokuError, InvalidInput, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus
from eioku.domain.videos import Video, VideoStatus
from eioku.pipeline.ingest import Plan, discover, file_hash, plan_run, register
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.runner import describe
from eioku.pipeline.stages import STAGE_NAMES, parse_stages
from eioku.storage.clock import utcnow
from eioku.storage.sources import LibrarySource
from eioku.storage.store import Store, UnitOfWork

logger = logging.getLogger(__name__)

__all__ = [
    "LibrarySource",
    "ScanEntry",
    "ScanReport",
    "Schedule",
    "add_source",
    "find_source",
    "planner",
    "remove_source",
    "scan_source",
    "source_stages",
]


class Schedule(Protocol):
    """Plans (and queues, or runs) the stages a video still needs; returns the plan.

    ``Dispatcher.submit`` fits, and so does :func:`planner`'s result.
    """

    def __call__(self, video: Video, profile: ModelProfile, stages: Sequence[str], /) -> Plan:
        """Schedule ``stages`` of ``video`` with ``profile``."""
        ...


def planner(
    store: Store, models: ModelLibrary, *, enqueue: Callable[[Plan], object] | None = None
) -> Schedule:
    """A :class:`Schedule` that plans runs with :func:`plan_run` (done stages are skipped).

    Args:
        store: where runs are stored.
        models: model lookup (settings of each stage are hashed into its config hash).
        enqueue: called with each plan that has a new run, e.g. to hand it to a worker pool.
    """

    def schedule(video: Video, profile: ModelProfile, stages: Sequence[str], /) -> Plan:
        plan = plan_run(store, video, profile, stages, models)
        if plan.run is not None and enqueue is not None:
            enqueue(plan)
        return plan

    return schedule


@dataclass(frozen=True, slots=True)
class ScanEntry:
    """One file (or video) a scan did something about, or could not."""

    path: str
    video_id: str | None = None
    run_id: str | None = None
    detail: str = ""


@dataclass(slots=True)
class ScanReport:
    """What a scan of one source found and did."""

    source_id: str
    path: str
    new: list[ScanEntry] = field(default_factory=list)
    changed: list[ScanEntry] = field(default_factory=list)
    moved: list[ScanEntry] = field(default_factory=list)
    restored: list[ScanEntry] = field(default_factory=list)
    missing: list[ScanEntry] = field(default_factory=list)
    pending: list[ScanEntry] = field(default_factory=list)
    unchanged: int = 0
    errors: list[ScanEntry] = field(default_factory=list)

    CATEGORIES = ("new", "changed", "moved", "restored", "missing", "pending", "errors")

    def entries(self) -> list[tuple[str, ScanEntry]]:
        """Every entry with its category, in category order."""
        return [(name, entry) for name in self.CATEGORIES for entry in getattr(self, name)]

    @property
    def run_ids(self) -> list[str]:
        """The runs this scan created."""
        return [entry.run_id for _, entry in self.entries() if entry.run_id is not None]

    @property
    def quiet(self) -> bool:
        """True when nothing changed and nothing went wrong."""
        return not self.entries()

    def summary(self) -> str:
        """One line: how many files fell in each category."""
        counts = [f"{len(getattr(self, name))} {name}" for name in self.CATEGORIES[:-1]]
        counts.append(f"{self.unchanged} unchanged")
        counts.append(f"{len(self.errors)} errors")
        return f"{self.path}: " + ", ".join(counts)


def source_stages(source: LibrarySource) -> tuple[str, ...]:
    """The stages a source's videos get (every stage when none were named)."""
    return source.stages or STAGE_NAMES


def add_source(
    store: Store,
    path: Path,
    *,
    watch: bool = False,
    profile: ModelProfile = ModelProfile.BALANCED,
    stages: Sequence[str] = (),
) -> LibrarySource:
    """Register a folder as a library source (it is not scanned yet).

    Args:
        store: the library.
        path: the folder; stored resolved (links followed, absolute).
        watch: follow it while a server or worker runs.
        profile: the profile its new and changed videos are run with.
        stages: the stages to run; empty means every stage.

    Raises:
        NotFound: the folder does not exist.
        InvalidInput: the path is not a folder, or a stage is unknown.
        Conflict: the folder is a source already, or overlaps one.
    """
    folder = _folder(path)
    names = parse_stages(",".join(stages)) if stages else ()
    source = LibrarySource(path=str(folder), watch=watch, profile=profile, stages=names)
    with store.unit_of_work() as uow:
        return uow.sources.add(source)


def _folder(path: Path) -> Path:
    try:
        folder = path.expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        raise InvalidInput(f"invalid path {str(path)!r}", details={"path": str(path)}) from None
    if not folder.exists():
        raise NotFound(f"{path}: no such folder", details={"path": str(path)})
    if not folder.is_dir():
        raise InvalidInput(f"{path} is not a folder", details={"path": str(path)})
    return folder


def find_source(store: Store, ref: str) -> LibrarySource:
    """The source with id ``ref``, or whose folder is ``ref`` (resolved).

    Raises:
        NotFound: no source matches.
    """
    with store.unit_of_work(write=False) as uow:
        for source in uow.sources.list_all():
            if source.source_id == ref:
                return source
        try:
            resolved = str(Path(ref).expanduser().resolve())
        except (OSError, RuntimeError, ValueError):
            resolved = ref
        found = uow.sources.by_path(resolved)
    if found is None:
        raise NotFound(f"no library source {ref!r} (by id or folder)", details={"source": ref})
    return found


def remove_source(store: Store, ref: str) -> LibrarySource:
    """Forget a source (by id or folder); its videos stay in the library."""
    source = find_source(store, ref)
    with store.unit_of_work() as uow:
        uow.sources.remove(source.source_id)
    return source


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _scan_lock(source_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(source_id, threading.Lock())


def scan_source(store: Store, source: LibrarySource, schedule: Schedule | None) -> ScanReport:
    """Bring the library up to date with the source folder; see the module docstring.

    Scans of one source never overlap in this process. A folder that is gone (an
    unmounted drive) changes nothing and is reported as an error.

    Args:
        store: the library.
        source: the source to scan.
        schedule: schedules new, changed and never-run videos; None only registers them.
    """
    with _scan_lock(source.source_id):
        report = _Scan(store, source, schedule).run()
    if report.errors:
        logger.warning("scan of %s: %s", source.path, report.summary())
    return report


def _signature_matches(video: Video, stat: os.stat_result) -> bool:
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
    return video.file_size == stat.st_size and video.file_mtime == mtime


def _status_from_runs(uow: UnitOfWork, video_id: str) -> VideoStatus:
    """The status a video found again goes back to: what its newest run left it in."""
    runs = uow.runs.list_for_video(video_id)
    if not runs:
        return VideoStatus.REGISTERED
    return {
        RunStatus.COMPLETED: VideoStatus.READY,
        RunStatus.FAILED: VideoStatus.FAILED,
        RunStatus.RUNNING: VideoStatus.PROCESSING,
    }.get(runs[0].status, VideoStatus.REGISTERED)


class _Scan:
    """One scan of one source."""

    def __init__(self, store: Store, source: LibrarySource, schedule: Schedule | None) -> None:
        self.store = store
        self.source = source
        self.schedule = schedule
        self.report = ScanReport(source.source_id, source.path)
        self.present: set[str] = set()  # video ids found on disk (in place or moved)
        self.sizes: dict[int, list[tuple[str, str]]] | None = None  # (id, path) by size
        self.exists: dict[str, bool] = {}  # registered paths checked on disk
        self.vanished: dict[str, Video] = {}  # videos whose file is gone, by id

    def _exists(self, path: str) -> bool:
        if path not in self.exists:
            self.exists[path] = Path(path).exists()
        return self.exists[path]

    def run(self) -> ScanReport:
        folder = Path(self.source.path)
        if not folder.is_dir():
            self.report.errors.append(
                ScanEntry(
                    self.source.path,
                    detail="the folder is gone or not a folder (unmounted?); nothing changed",
                )
            )
            return self.report
        files, _ = discover([folder])
        with self.store.unit_of_work(write=False) as uow:
            known = {video.path: video for video in uow.sources.videos_under(self.source.path)}
        for path in files:
            try:
                self._file(path, known.get(str(path)))
            except EiokuError as exc:
                self.report.errors.append(ScanEntry(str(path), detail=describe(exc)))
            except OSError as exc:
                reason = exc.strerror or str(exc)
                self.report.errors.append(ScanEntry(str(path), detail=f"cannot read: {reason}"))
            except Exception as exc:  # a fault with one file must not stop the scan
                logger.exception("scanning %s failed", path)
                self.report.errors.append(ScanEntry(str(path), detail=describe(exc)))
        self._mark_missing(known.values())
        with self.store.unit_of_work() as uow:
            uow.sources.mark_scanned(self.source.source_id, utcnow())
        return self.report

    def _file(self, path: Path, video: Video | None) -> None:
        stat = path.stat()
        if video is None:
            with self.store.unit_of_work(write=False) as uow:
                video = uow.sources.video_at(str(path))  # registered under a link
        if video is not None:
            self.present.add(video.video_id)
            self._known(path, video, stat)
            return
        moved = self._moved(path, stat)
        if moved is not None:
            self.present.add(moved.video_id)
            return
        fresh = register(self.store, path)
        self.report.new.append(self._scheduled(fresh, ScanEntry(str(path), fresh.video_id)))

    def _known(self, path: Path, video: Video, stat: os.stat_result) -> None:
        """A path the library knows: unchanged, found again, or changed content."""
        if not _signature_matches(video, stat):
            fresh = register(self.store, path)  # hashes the file again
            if fresh.file_hash != video.file_hash:
                if fresh.status is VideoStatus.MISSING:
                    self._set_status(fresh.video_id, VideoStatus.REGISTERED)
                entry = ScanEntry(str(path), fresh.video_id, detail="content changed")
                self.report.changed.append(self._scheduled(fresh, entry))
                return
            video = fresh  # touched, same content
        if video.status is VideoStatus.MISSING:
            self._restore(video, ScanEntry(str(path), video.video_id, detail="file is back"))
        elif video.status is VideoStatus.REGISTERED and self._never_run(video):
            entry = ScanEntry(str(path), video.video_id, detail="never processed")
            self.report.pending.append(self._scheduled(video, entry))
        else:
            self.report.unchanged += 1

    def _never_run(self, video: Video) -> bool:
        if self.schedule is None:
            return False
        with self.store.unit_of_work(write=False) as uow:
            return not uow.runs.list_for_video(video.video_id)

    def _moved(self, path: Path, stat: os.stat_result) -> Video | None:
        """The registered video whose file was moved to ``path``, now pointing there."""
        with self.store.unit_of_work(write=False) as uow:
            if self.sizes is None:
                self.sizes = uow.sources.files_by_size()
            ids = [
                video_id
                for video_id, old in self.sizes.get(stat.st_size, ())
                if video_id not in self.present and not self._exists(old)
            ]
            for video_id in ids:
                if video_id not in self.vanished:
                    self.vanished[video_id] = uow.videos.get(video_id)
        candidates = [self.vanished[video_id] for video_id in ids]
        if not candidates:
            return None
        digest = file_hash(path)
        matches = [video for video in candidates if video.file_hash == digest]
        if not matches:
            return None
        matches.sort(key=lambda video: video.filename != path.name)  # same name first
        video = matches[0]
        mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
        fields = {"path": str(path), "filename": path.name, "file_mtime": mtime}
        with self.store.unit_of_work() as uow:
            moved = uow.videos.refresh(video.video_id, file_size=stat.st_size, **fields)
            if moved.timeline_at != video.timeline_at:
                uow.projections.retime(moved.video_id, moved.timeline_at)
            if video.status is VideoStatus.MISSING:
                uow.videos.set_status(video.video_id, _status_from_runs(uow, video.video_id))
        detail = f"moved from {video.path}"
        self.report.moved.append(ScanEntry(str(path), video.video_id, detail=detail))
        return moved

    def _restore(self, video: Video, entry: ScanEntry) -> None:
        with self.store.unit_of_work() as uow:
            uow.videos.set_status(video.video_id, _status_from_runs(uow, video.video_id))
        self.report.restored.append(entry)

    def _set_status(self, video_id: str, status: VideoStatus) -> None:
        with self.store.unit_of_work() as uow:
            uow.videos.set_status(video_id, status)

    def _mark_missing(self, known: Iterable[Video]) -> None:
        for video in known:
            if video.video_id in self.present or Path(video.path).exists():
                continue  # found, or there but not a video file discovery picks up
            detail = "still missing"
            if video.status is not VideoStatus.MISSING:
                self._set_status(video.video_id, VideoStatus.MISSING)
                detail = "file is gone"
            self.report.missing.append(ScanEntry(video.path, video.video_id, detail=detail))

    def _scheduled(self, video: Video, entry: ScanEntry) -> ScanEntry:
        """``entry`` after scheduling ``video`` (with the run, or why there is none)."""
        if self.schedule is None:
            return entry
        try:
            plan = self.schedule(video, self.source.profile, source_stages(self.source))
        except EiokuError as exc:
            reason = f"could not schedule a run: {describe(exc)}"
            self.report.errors.append(ScanEntry(entry.path, video.video_id, detail=reason))
            return entry
        if plan.run is None:
            note = "up to date"
            return ScanEntry(entry.path, entry.video_id, None, _joined(entry.detail, note))
        return ScanEntry(entry.path, entry.video_id, plan.run.run_id, entry.detail)


def _joined(*parts: str) -> str:
    return "; ".join(part for part in parts if part)
