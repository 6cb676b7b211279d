"""Library source repository: the folders the library is made of, and their videos.

A source is a folder (stored resolved) with the profile and stages its new videos get,
and whether it is watched. The videos "under" a source are those whose path lies inside
its folder; they are found by path prefix, so removing a source never touches them.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, RowMapping, delete, select, update

from eioku.domain.envelope import NonEmpty, require_aware
from eioku.domain.errors import Conflict, NotFound
from eioku.domain.ids import new_id
from eioku.domain.profiles import ModelProfile
from eioku.domain.videos import Video
from eioku.storage.clock import utcnow
from eioku.storage.errors import translated
from eioku.storage.tables import library_sources, videos
from eioku.storage.videos import video_from_row


class LibrarySource(BaseModel):
    """A folder of the library: scanned for videos, optionally watched."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_id: NonEmpty = Field(default_factory=new_id)
    path: NonEmpty
    watch: bool = False
    profile: ModelProfile = ModelProfile.BALANCED
    stages: Annotated[tuple[str, ...], Field(description="Stages to run; empty means all.")] = ()
    created_at: datetime | None = None
    last_scan_at: datetime | None = None

    @field_validator("created_at", "last_scan_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else require_aware(value)


def _from_row(row: RowMapping) -> LibrarySource:
    stages = tuple(name for name in str(row["stages"]).split(",") if name)
    return LibrarySource(
        source_id=row["source_id"],
        path=row["path"],
        watch=bool(row["watch"]),
        profile=ModelProfile(row["profile"]),
        stages=stages,
        created_at=row["created_at"],
        last_scan_at=row["last_scan_at"],
    )


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (compared exactly, by components)."""
    return Path(path).is_relative_to(Path(folder))


def _not_found(source_id: str) -> NotFound:
    return NotFound(f"library source {source_id} not found", details={"source_id": source_id})


class SourceRepository:
    """Reads and writes ``library_sources`` on one connection (inside a unit of work)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, source: LibrarySource) -> LibrarySource:
        """Store a new source; created_at defaults to now.

        Raises:
            Conflict: the folder is a source already, or lies inside one, or holds one.
        """
        for other in self.list_all():
            if other.path == source.path:
                raise Conflict(
                    f"{source.path} is already a library source ({other.source_id})",
                    details={"source_id": other.source_id, "path": other.path},
                )
            if _inside(source.path, other.path) or _inside(other.path, source.path):
                raise Conflict(
                    f"{source.path} overlaps the library source {other.path} "
                    f"({other.source_id}): a folder can belong to one source only",
                    details={"source_id": other.source_id, "path": other.path},
                )
        stored = source.model_copy(update={"created_at": source.created_at or utcnow()})
        values = stored.model_dump()
        values["profile"] = stored.profile.value
        values["stages"] = ",".join(stored.stages)
        with translated(f"add library source {source.path}"):
            self._conn.execute(library_sources.insert().values(values))
        return stored

    def get(self, source_id: str) -> LibrarySource:
        """The source, or NotFound."""
        query = select(library_sources).where(library_sources.c.source_id == source_id)
        row = self._conn.execute(query).first()
        if row is None:
            raise NotFound(
                f"library source {source_id} not found", details={"source_id": source_id}
            )
        return _from_row(row._mapping)

    def by_path(self, path: str) -> LibrarySource | None:
        """The source whose folder is exactly ``path`` (resolved), if any."""
        query = select(library_sources).where(library_sources.c.path == path)
        row = self._conn.execute(query).first()
        return None if row is None else _from_row(row._mapping)

    def list_all(self) -> list[LibrarySource]:
        """Every source, by folder."""
        query = select(library_sources).order_by(library_sources.c.path)
        return [_from_row(row._mapping) for row in self._conn.execute(query)]

    def remove(self, source_id: str) -> None:
        """Forget a source; its videos stay in the library.

        Raises:
            NotFound: no such source.
        """
        query = delete(library_sources).where(library_sources.c.source_id == source_id)
        if self._conn.execute(query).rowcount == 0:
            raise NotFound(
                f"library source {source_id} not found", details={"source_id": source_id}
            )

    def mark_scanned(self, source_id: str, when: datetime) -> None:
        """Record when the source was last scanned."""
        query = (
            update(library_sources)
            .where(library_sources.c.source_id == source_id)
            .values(last_scan_at=when)
        )
        self._conn.execute(query)

    def videos_under(self, folder: str) -> list[Video]:
        """Registered videos whose file path lies inside ``folder``, by path."""
        prefix = folder.rstrip(os.sep) + os.sep
        query = (
            select(videos)
            .where(videos.c.path.startswith(prefix, autoescape=True))
            .order_by(videos.c.path)
        )
        rows = self._conn.execute(query)
        # LIKE ignores ASCII case on SQLite: keep only true descendants.
        return [video_from_row(row._mapping) for row in rows if _inside(row.path, folder)]

    def video_at(self, path: str) -> Video | None:
        """The video registered at exactly ``path``, if any."""
        row = self._conn.execute(select(videos).where(videos.c.path == path)).first()
        return None if row is None else video_from_row(row._mapping)

    def files_by_size(self) -> dict[int, list[tuple[str, str]]]:
        """Every video's (id, path) by its file size, oldest first: where a moved file may
        come from.

        One pass over narrow rows, so a scan with many new files looks candidates up in
        memory instead of querying (file_size has no index) once per file.
        """
        query = select(videos.c.file_size, videos.c.video_id, videos.c.path).order_by(
            videos.c.created_at
        )
        found: dict[int, list[tuple[str, str]]] = {}
        for size, video_id, path in self._conn.execute(query):
            found.setdefault(int(size), []).append((str(video_id), str(path)))
        return found
