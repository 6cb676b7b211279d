"""Where the navigation benchmark's libraries live: scratch databases, or kept ones.

Without ``--keep`` every library is generated into a scratch database that is removed
afterwards. With ``--keep DIR`` a library is generated once and reused by later runs:
SQLite files are ``DIR/nav_<fingerprint>.db``; PostgreSQL databases are
``eioku_bench_nav_<fingerprint>`` on the server of EIOKU_TEST_POSTGRES_URL. A library
counts as complete only once a marker says so (``DIR/nav_<fingerprint>.complete``, or a
comment on the PostgreSQL database); an incomplete or out-of-date one is generated anew.
Drop them by hand when done (``rm DIR/nav_*``, ``DROP DATABASE eioku_bench_nav_...``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from bench.nav_data import Shape
from bench.nav_load import load_fast
from bench.scratch import admin_url, libpq, scratch_database
from eioku.domain.errors import StorageError
from eioku.domain.schemas.registry import SchemaRegistry
from eioku.storage.store import Store

Say = Callable[[str], None]
DEFAULT_KEEP_DIR = Path.home() / ".cache" / "eioku-bench"


@dataclass(frozen=True)
class Dataset:
    """A library ready to query; ``generated_seconds`` is None when a kept one was reused."""

    engine: str
    shape: Shape
    url: str
    store: Store
    generated_seconds: float | None


@contextmanager
def dataset(
    engine: str, shape: Shape, registry: SchemaRegistry, keep: Path | None, say: Say
) -> Iterator[Dataset]:
    """The library ``shape`` on ``engine``: generated now, or reused from ``keep``."""
    if keep is None:
        with scratch_database(engine) as url:
            store = Store(url, registry)
            try:
                yield Dataset(engine, shape, url, store, _generate(store, shape, say))
            finally:
                store.dispose()
        return
    url = _kept_url(engine, shape, keep)
    store = Store(url, registry)
    try:
        if _usable(engine, url, shape, store):
            say(f"  reusing the kept library at {_where(url)}")
            yield Dataset(engine, shape, url, store, None)
            return
        store.dispose()
        _reset(engine, url)
        store = Store(url, registry)
        seconds = _generate(store, shape, say)
        _mark_complete(engine, url, shape)
        say(f"  kept at {_where(url)}")
        yield Dataset(engine, shape, url, store, seconds)
    finally:
        store.dispose()


def _generate(store: Store, shape: Shape, say: Say) -> float:
    say(f"  generating {shape.total:,} artifacts over {shape.videos:,} videos ({store.dialect})")
    started = time.perf_counter()
    store.upgrade()
    load_fast(store, shape, say)
    seconds = time.perf_counter() - started
    say(f"  generated in {seconds:.0f} s ({shape.total / seconds:,.0f} artifacts/s)")
    return seconds


def _kept_url(engine: str, shape: Shape, keep: Path) -> str:
    if engine == "sqlite":
        keep.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{keep.resolve() / f'nav_{shape.fingerprint}.db'}"
    name = f"eioku_bench_nav_{shape.fingerprint}"
    return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def _where(url: str) -> str:
    parsed = make_url(url)
    return str(parsed.database) if parsed.get_backend_name() == "sqlite" else f"{parsed.database}"


def _marker(url: str) -> Path:
    return Path(str(make_url(url).database)).with_suffix(".complete")


def _usable(engine: str, url: str, shape: Shape, store: Store) -> bool:
    """Whether a complete library of ``shape`` is there, at the current schema revision."""
    if engine == "sqlite":
        complete = _marker(url).exists() and _marker(url).read_text() == shape.fingerprint
    else:
        complete = _comment(url) == f"complete {shape.fingerprint}"
    if not complete:
        return False
    try:
        store.check_schema()
    except StorageError:
        return False
    return True


def _comment(url: str) -> str | None:
    name = make_url(url).database
    query = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s"
    with psycopg.connect(libpq(admin_url()), autocommit=True) as conn:
        row = conn.execute(query, (name,)).fetchone()
    return None if row is None else row[0]


def _reset(engine: str, url: str) -> None:
    """Remove whatever is at ``url`` and leave an empty database there."""
    if engine == "sqlite":
        path = Path(str(make_url(url).database))
        for leftover in (path, _marker(url), *(Path(f"{path}{s}") for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        return
    name = make_url(url).database
    with psycopg.connect(libpq(admin_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _mark_complete(engine: str, url: str, shape: Shape) -> None:
    if engine == "sqlite":
        _marker(url).write_text(shape.fingerprint)
        return
    name = make_url(url).database
    with psycopg.connect(libpq(admin_url()), autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS 'complete {shape.fingerprint}'")
