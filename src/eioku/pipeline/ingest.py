"""Ingest: find video files, register them in the library, and plan the runs they need.

A file is identified by its content hash (SHA-256). Re-registering a path whose size and
modification time did not change reuses the stored row without reading the file again;
a changed file gets its new hash, so its stages run again. A stage is planned only when
no earlier run of the video finished it on the same input hash with the same settings
(config hash), unless forced: re-ingesting the same file with the same profile does
nothing (SPEC §9).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from eioku.domain.errors import InvalidInput, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, StageState
from eioku.domain.videos import Video, VideoStatus
from eioku.media.decode import MediaError, probe
from eioku.media.files import VIDEO_TYPES
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.stage import config_hash
from eioku.pipeline.stages import stage_class
from eioku.storage.clock import utcnow
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import videos

VIDEO_EXTENSIONS = frozenset(VIDEO_TYPES)
"""Extensions (lower case, with the dot) that folder discovery picks up."""


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Video files named by ``paths``: files as given, folders searched recursively.

    Folder search keeps files with a video extension (case-insensitive) and skips hidden
    files and folders. Returns the files (absolute, de-duplicated, in a stable order) and
    one message per path that does not exist.
    """
    found: dict[Path, None] = {}
    problems: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                        found[(Path(root) / name).resolve()] = None
        elif path.exists():
            found[path.resolve()] = None
        else:
            problems.append(f"{raw}: no such file or folder")
    return list(found), problems


def file_hash(path: Path) -> str:
    """SHA-256 of the file's content, hex.

    Raises:
        MediaError: the file cannot be read.
    """
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        raise MediaError(f"{path}: the file does not exist (moved or deleted?)") from None
    except PermissionError:
        raise MediaError(f"{path}: permission denied") from None
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def register(store: Store, path: Path) -> Video:
    """The library's video for ``path``, registered (or refreshed) from the file.

    A file that is not readable media is still registered (so its failed run can say
    why); one that cannot be read at all is not.

    Raises:
        MediaError: the file does not exist or cannot be read.
    """
    path = path.resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise MediaError(f"{path}: the file does not exist (moved or deleted?)") from None
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise MediaError(f"{path}: not a regular file")
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
    with store.unit_of_work(write=False) as uow:
        existing = _by_path(uow, path)
    if existing is not None and existing.file_size == stat.st_size and existing.file_mtime == mtime:
        return existing
    digest = file_hash(path)
    try:
        info = probe(path)
        duration, recorded = info.duration_ms, info.recorded_at
    except MediaError:
        duration, recorded = None, None
    fields = {
        "path": str(path),
        "filename": path.name,
        "file_size": stat.st_size,
        "file_mtime": mtime,
        "file_hash": digest,
        "duration_ms": duration,
        "recorded_at": recorded,
    }
    with store.unit_of_work() as uow:
        if existing is None:
            return uow.videos.add(Video.model_validate(fields))
        video = uow.videos.refresh(existing.video_id, **fields)
        if video.timeline_at != existing.timeline_at:
            uow.projections.retime(video.video_id, video.timeline_at)
        return video


def _by_path(uow: UnitOfWork, path: Path) -> Video | None:
    row = uow.connection.execute(select(videos.c.video_id).where(videos.c.path == str(path)))
    video_id = row.scalar()
    return None if video_id is None else uow.videos.get(video_id)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a video needs: a queued run with the stages to do, or None when up to date.

    ``reused`` is True when ``run`` is an unfinished run made earlier for the same video,
    profile and stages (a duplicate submit), not a new one.
    """

    video: Video
    run: Run | None
    up_to_date: tuple[str, ...]
    reused: bool = False


def plan_run(
    store: Store,
    video: Video,
    profile: ModelProfile,
    stages: Sequence[str],
    models: ModelLibrary,
    *,
    force: bool = False,
    enqueue: Callable[[UnitOfWork, Run], None] | None = None,
    dedup: bool = False,
) -> Plan:
    """Create a queued run for the stages ``video`` still needs with ``profile``.

    ``enqueue`` is called with the new run inside the transaction that stores it, so a
    task queue living in the same database (PostgreSQL) gets the job exactly when the run
    row exists. With ``dedup``, an unfinished (queued or running) run of the same video
    and profile that covers those stages is returned instead of a new one.

    Raises:
        InvalidInput: no stage named, or an unknown stage.
        NotFound: the video is not registered.
    """
    if not stages:
        raise InvalidInput("no stage to run")
    hashes = {name: config_hash(stage_class(name)(profile, models).config()) for name in stages}
    with store.unit_of_work() as uow:
        if not uow.videos.exists(video.video_id):
            raise NotFound(
                f"video {video.video_id} not found", details={"video_id": video.video_id}
            )
        done = tuple(
            name
            for name in stages
            if not force
            and uow.runs.completed_stage(
                video.video_id, name, input_hash=video.file_hash, config_hash=hashes[name]
            )
        )
        todo = [name for name in stages if name not in done]
        if not todo:
            return Plan(video, None, done)
        if dedup:
            existing = uow.runs.covering(video.video_id, profile, todo)
            if existing is not None:
                return Plan(video, existing, done, reused=True)
        run = Run(
            asset_id=video.video_id,
            pipeline_profile=profile,
            started_at=utcnow(),
            stages=tuple(StageState(stage=name) for name in todo),
        )
        uow.runs.create(run)
        if enqueue is not None:
            enqueue(uow, run)
        if video.status is not VideoStatus.PROCESSING:
            uow.videos.set_status(video.video_id, VideoStatus.REGISTERED)
        return Plan(video, run, done)
