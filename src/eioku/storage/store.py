"""The store: an engine, its backend and the registry; units of work hand out repositories."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from eioku.domain.errors import StorageError
from eioku.domain.schemas.registry import SchemaRegistry
from eioku.storage import migrations
from eioku.storage.artifacts import ArtifactRepository
from eioku.storage.backend import WRITE_OPTION, Backend
from eioku.storage.engine import make_engine
from eioku.storage.errors import translated
from eioku.storage.faces import FaceIdentityRepository
from eioku.storage.prepared import StatementCache
from eioku.storage.projections import ProjectionWriter
from eioku.storage.runs import RunRepository
from eioku.storage.selections import SelectionRepository
from eioku.storage.sources import SourceRepository
from eioku.storage.videos import VideoRepository

logger = logging.getLogger(__name__)


class UnitOfWork:
    """One transaction and the repositories working inside it."""

    def __init__(
        self,
        conn: Connection,
        backend: Backend,
        registry: SchemaRegistry,
        statements: StatementCache,
    ) -> None:
        self.connection = conn
        self.statements = statements
        self.videos = VideoRepository(conn, statements)
        self.runs = RunRepository(conn)
        self.selections = SelectionRepository(conn, backend)
        self.projections = ProjectionWriter(conn, backend, self.selections)
        self.selections.on_change = self.projections.refresh_selected
        self.artifacts = ArtifactRepository(
            conn, backend, registry, self.selections, self.projections
        )
        self.faces = FaceIdentityRepository(conn, backend)
        self.sources = SourceRepository(conn)
        self.backend = backend


class Store:
    """Entry to storage for one database URL.

    Args:
        url: SQLAlchemy-style URL (``sqlite:///file.db`` or ``postgresql://...``).
        registry: the schema registry used to validate payloads on write and read.
    """

    def __init__(self, url: str, registry: SchemaRegistry) -> None:
        self.engine: Engine
        self.engine, self.backend = make_engine(url)
        self.lookup_engine: Engine
        self.lookup_engine, _ = make_engine(url, lookups=True)
        self.statements = StatementCache(self.engine.dialect)
        self.registry = registry

    @property
    def engines(self) -> tuple[Engine, Engine]:
        """Both engines: units of work, and :meth:`lookup` (for event listeners)."""
        return (self.engine, self.lookup_engine)

    @property
    def dialect(self) -> str:
        """The engine name, for display only."""
        return self.backend.name

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest revision."""
        with translated("migrate the database"):
            migrations.upgrade(self.engine)

    def check_schema(self) -> None:
        """Raise StorageError unless the database is at the newest revision."""
        with translated("read the schema revision"):
            current = migrations.current_revision(self.engine)
        head = migrations.head_revision(self.engine)
        if current != head:
            raise StorageError(
                f"database schema is at {current or 'nothing'}, this Eioku needs {head}: "
                "run 'eioku db upgrade'"
            )

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with translated("open a database connection"):
            conn = self.engine.connect().execution_options(**{WRITE_OPTION: write})
        try:
            with translated("run a database transaction"), conn.begin():
                yield UnitOfWork(conn, self.backend, self.registry, self.statements)
        finally:
            conn.close()

    @contextmanager
    def lookup(self) -> Iterator[UnitOfWork]:
        """Repositories for a few index lookups, without a transaction around them.

        Each statement reads committed data on its own (autocommit): no BEGIN and no
        COMMIT round trips, which are most of the cost of a one-statement lookup. Use it
        only for reads that need no snapshot across statements (jump, find, global jump).
        """
        with translated("open a database connection"):
            conn = self.lookup_engine.connect()
        try:
            with translated("read from the database"):
                yield UnitOfWork(conn, self.backend, self.registry, self.statements)
        finally:
            conn.close()

    def ping(self) -> None:
        """Raise StorageError when the database cannot be reached."""
        with translated("reach the database"), self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
        self.lookup_engine.dispose()
