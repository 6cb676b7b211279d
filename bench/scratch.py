"""Scratch databases the benchmark creates and always removes: SQLite files in a temporary
folder, PostgreSQL databases created and dropped through the admin URL."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import make_url

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENGINES = ("sqlite", "postgresql")


def admin_url() -> str:
    """Where scratch PostgreSQL databases may be created and dropped."""
    return os.environ.get("EIOKU_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as the plain ``postgresql://`` string psycopg accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path:
    """The file behind a ``sqlite:///`` URL."""
    return Path(str(make_url(url).database))


@contextmanager
def scratch_database(engine: str) -> Iterator[str]:
    """A URL to a new, empty database on ``engine``; it is deleted when the block ends."""
    if engine == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="eioku-bench-"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if engine != "postgresql":
        raise ValueError(f"unknown engine {engine!r}: choose from {', '.join(ENGINES)}")
    name = f"eioku_bench_{uuid.uuid4().hex[:12]}"
    admin = admin_url()
    with psycopg.connect(libpq(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version(engine: str) -> str:
    """The database engine's version, for the machine description."""
    if engine == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(libpq(admin_url())) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"
