"""Face identity repository: the library-wide clusters faces are matched against.

Each identity keeps the running mean of its members' embeddings (float32, little-endian
bytes) and how many faces went into it. Embeddings of different models live in different
spaces, so every read and match is restricted to one model. Cluster ids are never renamed,
merged or deleted here: once an artifact carries one, it stays meaningful.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Connection, insert, select, text, update

from eioku.domain.errors import InvalidInput, NotFound
from eioku.storage.backend import Backend
from eioku.storage.clock import utcnow
from eioku.storage.errors import translated
from eioku.storage.tables import face_identities

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

LOCK_KEY = 0x45494F4B55464143
"""PostgreSQL advisory lock key of face identity assignment (the bytes of ``EIOKUFAC``)."""


class FaceIdentity(NamedTuple):
    """One stored identity: its id, mean embedding and number of member faces."""

    cluster_id: str
    centroid: npt.NDArray[np.float32]
    member_count: int


def _encode(centroid: npt.ArrayLike) -> bytes:
    """A 1-d, finite vector as little-endian float32 bytes."""
    import numpy as np

    vector = np.asarray(centroid, dtype="<f4")
    if vector.ndim != 1 or vector.size == 0 or not np.all(np.isfinite(vector)):
        raise InvalidInput("a face centroid must be a non-empty 1-d vector of finite numbers")
    return vector.tobytes()


def _decode(blob: bytes) -> npt.NDArray[np.float32]:
    import numpy as np

    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


class FaceIdentityRepository:
    """Reads and writes ``face_identities`` on one connection (inside a unit of work)."""

    def __init__(self, conn: Connection, backend: Backend) -> None:
        self._conn = conn
        self._backend = backend

    def lock(self) -> None:
        """Serialise identity assignment until the transaction ends.

        Two runs matching faces at once could otherwise both create an identity for the
        same new person. On PostgreSQL this takes a transaction-scoped advisory lock; on
        SQLite a write transaction (``BEGIN IMMEDIATE``) already excludes other writers.
        """
        if self._backend.name == "postgresql":
            with translated("lock the face identities"):
                self._conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})

    def all(self, model: str) -> list[FaceIdentity]:
        """Every identity made with embedding model ``model``, ordered by cluster id."""
        c = face_identities.c
        query = (
            select(c.cluster_id, c.centroid, c.member_count)
            .where(c.model == model)
            .order_by(c.cluster_id)
        )
        with translated("read the face identities"):
            rows = self._conn.execute(query).all()
        return [FaceIdentity(row[0], _decode(row[1]), int(row[2])) for row in rows]

    def add(self, cluster_id: str, centroid: npt.ArrayLike, model: str, count: int = 1) -> None:
        """Store a new identity.

        Raises:
            InvalidInput: the centroid is not a finite vector or ``count`` is below 1.
            Conflict: ``cluster_id`` exists already.
        """
        if count < 1:
            raise InvalidInput(f"an identity needs at least one face, not {count}")
        now = utcnow()
        values = {
            "cluster_id": cluster_id,
            "centroid": _encode(centroid),
            "member_count": count,
            "model": model,
            "created_at": now,
            "updated_at": now,
        }
        with translated(f"add face identity {cluster_id}"):
            self._conn.execute(insert(face_identities).values(values))

    def update(self, cluster_id: str, centroid: npt.ArrayLike, count: int) -> None:
        """Replace an identity's mean embedding and member count.

        Raises:
            InvalidInput: the centroid is not a finite vector or ``count`` is below 1.
            NotFound: no identity has that id.
        """
        if count < 1:
            raise InvalidInput(f"an identity needs at least one face, not {count}")
        query = (
            update(face_identities)
            .where(face_identities.c.cluster_id == cluster_id)
            .values(centroid=_encode(centroid), member_count=count, updated_at=utcnow())
        )
        with translated(f"update face identity {cluster_id}"):
            result = self._conn.execute(query)
        if result.rowcount == 0:
            raise NotFound(
                f"face identity {cluster_id} not found", details={"cluster_id": cluster_id}
            )
