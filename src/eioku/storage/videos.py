"""Video repository: the library's files and their place on the global timeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, String, bindparam, delete, select, tuple_, update

from eioku.domain.errors import Conflict, NotFound
from eioku.domain.videos import Video, VideoStatus
from eioku.storage.clock import utcnow
from eioku.storage.errors import translated
from eioku.storage.prepared import StatementCache
from eioku.storage.tables import videos

_FIELDS = [column.name for column in videos.columns if column.name != "timeline_at"]


def video_from_row(row: RowMapping) -> Video:
    """Rebuild a Video from its table row."""
    return Video.model_validate({name: row[name] for name in _FIELDS})


class VideoRepository:
    """Reads and writes ``videos`` on one connection (inside a unit of work)."""

    def __init__(self, conn: Connection, statements: StatementCache) -> None:
        self._conn = conn
        self._statements = statements

    def add(self, video: Video) -> Video:
        """Insert a video; created_at/updated_at default to now.

        Raises:
            Conflict: the video_id or the path is already registered.
        """
        now = utcnow()
        stored = video.model_copy(
            update={
                "created_at": video.created_at or now,
                "updated_at": video.updated_at or video.created_at or now,
            }
        )
        self._check_free(video)
        values: dict[str, Any] = stored.model_dump()
        values["timeline_at"] = stored.timeline_at
        with translated(f"register video {video.video_id}"):
            self._conn.execute(videos.insert().values(values))
        return stored

    def _check_free(self, video: Video) -> None:
        """Conflict when the id or the path is registered already."""
        for column, value in ((videos.c.video_id, video.video_id), (videos.c.path, video.path)):
            if self._conn.execute(select(videos.c.video_id).where(column == value)).first():
                raise Conflict(
                    f"a video with {column.name} {value!r} is already registered",
                    details={column.name: value},
                )

    def get(self, video_id: str) -> Video:
        """The video, or NotFound."""
        row = self._conn.execute(select(videos).where(videos.c.video_id == video_id)).first()
        if row is None:
            raise NotFound(f"video {video_id} not found", details={"video_id": video_id})
        return video_from_row(row._mapping)

    def exists(self, video_id: str) -> bool:
        """Whether the video is registered."""
        build = lambda: select(videos.c.video_id).where(  # noqa: E731
            videos.c.video_id == bindparam("video_id", type_=String)
        )
        found = self._statements.rows(self._conn, "video exists", build, {"video_id": video_id})
        return bool(found)

    def list(
        self,
        *,
        limit: int = 100,
        after: tuple[Any, str] | None = None,
        descending: bool = False,
    ) -> list[Video]:
        """Videos along the global timeline (timeline key, video_id), keyset-paginated.

        ``after`` is the key of the last video seen; with ``descending`` the walk goes
        backwards from the end of the timeline and ``after`` means "before" that key.
        """
        key = tuple_(videos.c.timeline_at, videos.c.video_id)
        columns = (videos.c.timeline_at, videos.c.video_id)
        order = [column.desc() if descending else column.asc() for column in columns]
        query = select(videos).order_by(*order).limit(limit)
        if after is not None:
            query = query.where(key < after if descending else key > after)
        return [video_from_row(row._mapping) for row in self._conn.execute(query)]

    def all_ids(self) -> Sequence[str]:
        """Every video id, in id order."""
        query = select(videos.c.video_id).order_by(videos.c.video_id)
        return list(self._conn.execute(query).scalars())

    def refresh(self, video_id: str, **fields: Any) -> Video:
        """Update the file facts of a video (path, size, mtime, hash, duration, recorded_at).

        The caller moves projection rows when the timeline key changes
        (:meth:`ProjectionWriter.retime`).

        Raises:
            NotFound: no such video.
        """
        current = self.get(video_id)
        updated = Video.model_validate({**current.model_dump(), **fields, "updated_at": utcnow()})
        values: dict[str, Any] = updated.model_dump(exclude={"video_id", "created_at"})
        values["timeline_at"] = updated.timeline_at
        with translated(f"update video {video_id}"):
            self._conn.execute(update(videos).where(videos.c.video_id == video_id).values(values))
        return updated

    def set_status(self, video_id: str, status: VideoStatus) -> None:
        """Change a video's status."""
        query = (
            update(videos)
            .where(videos.c.video_id == video_id)
            .values(status=status.value, updated_at=utcnow())
        )
        if self._conn.execute(query).rowcount == 0:
            raise NotFound(f"video {video_id} not found", details={"video_id": video_id})

    def delete(self, video_id: str) -> None:
        """Delete a video with its runs, artifacts, projection rows and policies."""
        query = delete(videos).where(videos.c.video_id == video_id)
        if self._conn.execute(query).rowcount == 0:
            raise NotFound(f"video {video_id} not found", details={"video_id": video_id})
