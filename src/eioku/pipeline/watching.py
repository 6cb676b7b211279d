"""Following watched library sources while a server or worker runs.

One daemon thread watches every source with ``watch`` set (``watchfiles``: inotify,
FSEvents or ReadDirectoryChangesW, polling where none works). A change does not scan at
once: a video file is first left alone until its size and modification time have stayed
the same for ``Settings.watch_stable_seconds``, so a file still being copied is never
registered half-written. Then the whole source is scanned (:func:`scan_source`), which
also notices moves and deletions. Each source is scanned once when watching starts, to
catch up with what changed while nothing watched, and the list of watched sources is
re-read every few seconds, so sources added or removed meanwhile are followed.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from watchfiles import watch

from eioku.config import Settings
from eioku.domain.errors import EiokuError, NotFound
from eioku.media.files import VIDEO_TYPES
from eioku.pipeline.library import LibrarySource, Schedule, scan_source
from eioku.storage.store import Store

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0
"""How often the list of watched sources is read again."""

_VIDEO_SUFFIXES = frozenset(VIDEO_TYPES)


class WatchHandle:
    """The running watcher; :meth:`stop` ends it."""

    def __init__(self, watcher: _Watcher, thread: threading.Thread) -> None:
        self._watcher = watcher
        self._thread = thread

    @property
    def running(self) -> bool:
        """Whether the watcher thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching and wait (up to ``timeout`` seconds) for a scan in progress."""
        self._watcher.stopping.set()
        self._thread.join(timeout)


def start_watching(
    store: Store,
    settings: Settings,
    schedule: Schedule,
    *,
    refresh_seconds: float = REFRESH_SECONDS,
) -> WatchHandle:
    """Start following the watched library sources in a daemon thread.

    Args:
        store: the library (used from the watcher thread).
        settings: ``watch_stable_seconds`` is how long a file must stay unchanged.
        schedule: schedules the runs of new and changed videos (see :class:`Schedule`).
        refresh_seconds: how often the list of watched sources is read again.

    Returns:
        The handle whose ``stop()`` ends watching.
    """
    watcher = _Watcher(store, schedule, settings.watch_stable_seconds, refresh_seconds)
    thread = threading.Thread(target=watcher.main, name="eioku-library-watch", daemon=True)
    thread.start()
    return WatchHandle(watcher, thread)


@dataclass
class _Seen:
    """A file's (size, mtime) and when it was first seen like that."""

    signature: tuple[int, int]
    since: float


@dataclass
class _Pending:
    """A source with changes not scanned yet."""

    last_event: float
    files: dict[Path, _Seen] = field(default_factory=dict)


class _EitherEvent:
    """Set when either event is: how watchfiles is told to stop or to restart."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        self._events = (first, second)

    def is_set(self) -> bool:
        return any(event.is_set() for event in self._events)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class _Watcher:
    """The watcher thread's state: watched sources and what waits to be scanned."""

    def __init__(self, store: Store, schedule: Schedule, stable: float, refresh: float) -> None:
        self.store = store
        self.schedule = schedule
        self.stable = stable
        self.refresh = refresh
        self.stopping = threading.Event()
        self.sources: dict[str, LibrarySource] = {}
        self.pending: dict[str, _Pending] = {}

    def main(self) -> None:
        while not self.stopping.is_set():
            try:
                self._watch_until_sources_change()
            except Exception:
                logger.exception("watching library folders failed; trying again")
                self.stopping.wait(self.refresh)

    def _watched(self) -> dict[str, LibrarySource]:
        with self.store.unit_of_work(write=False) as uow:
            listed = uow.sources.list_all()
        return {s.source_id: s for s in listed if s.watch and Path(s.path).is_dir()}

    def _watch_until_sources_change(self) -> None:
        current = self._watched()
        for source_id in current.keys() - self.sources.keys():
            self.pending[source_id] = _Pending(-math.inf)  # catch up once
        self.sources = current
        if not current:
            self.stopping.wait(self.refresh)
            return
        logger.info("watching %s", ", ".join(s.path for s in current.values()))
        restart = threading.Event()
        tick_ms = int(min(1000.0, max(100.0, self.stable * 250)))
        next_refresh = time.monotonic() + self.refresh
        for changes in watch(
            *(source.path for source in current.values()),
            watch_filter=None,
            debounce=tick_ms,
            stop_event=_EitherEvent(self.stopping, restart),
            rust_timeout=tick_ms,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            for _change, raw in changes:
                self._note(Path(raw))
            self._scan_settled()
            if time.monotonic() >= next_refresh:
                if self._watched().keys() != current.keys():
                    restart.set()
                next_refresh = time.monotonic() + self.refresh

    def _source_of(self, path: Path) -> LibrarySource | None:
        for source in self.sources.values():
            folder = Path(source.path)
            if path.is_relative_to(folder):
                hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
                return None if hidden else source
        return None

    def _note(self, path: Path) -> None:
        """Remember a changed path: video files wait to settle, removals just need a scan."""
        source = self._source_of(path)
        if source is None:
            return
        is_video = path.suffix.lower() in _VIDEO_SUFFIXES
        if path.exists() and not is_video and not path.is_dir():
            return  # some other file: nothing to do
        now = time.monotonic()
        pending = self.pending.setdefault(source.source_id, _Pending(now))
        pending.last_event = max(pending.last_event, now)
        signature = _signature(path) if is_video and path.is_file() else None
        if signature is not None:
            seen = pending.files.get(path)
            if seen is None or seen.signature != signature:
                pending.files[path] = _Seen(signature, now)

    def _settled(self, pending: _Pending, now: float) -> bool:
        """Whether every changed file kept its size and mtime for the stable time."""
        if now - pending.last_event < self.stable:
            return False
        settled = True
        for path, seen in list(pending.files.items()):
            signature = _signature(path)
            if signature is None:
                del pending.files[path]
            elif signature != seen.signature:
                pending.files[path] = _Seen(signature, now)
                settled = False
            elif now - seen.since < self.stable:
                settled = False
        return settled

    def _scan_settled(self) -> None:
        now = time.monotonic()
        for source_id, pending in list(self.pending.items()):
            if self.stopping.is_set() or not self._settled(pending, now):
                continue
            del self.pending[source_id]
            self._scan(source_id)

    def _scan(self, source_id: str) -> None:
        try:
            with self.store.unit_of_work(write=False) as uow:
                source = uow.sources.get(source_id)
            report = scan_source(self.store, source, self.schedule)
        except NotFound:
            return  # removed meanwhile
        except EiokuError as exc:
            logger.error("scan of library source %s failed: %s", source_id, exc.message)
            self.pending[source_id] = _Pending(time.monotonic() + self.refresh)  # try again
            return
        if not report.quiet:
            logger.info("scanned %s", report.summary())
