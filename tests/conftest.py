"""Shared fixtures: a clean store on every engine, Hypothesis profiles.

PostgreSQL tests are never skipped: without a reachable server they error, and
``scripts/test`` makes sure one is there (starting a throwaway cluster if needed).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import delete, make_url

from eioku.domain.schemas.registry import SchemaRegistry, load_registry
from eioku.storage.store import Store
from eioku.storage.tables import metadata

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ENGINES = ("sqlite", "postgresql")
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """Where tests may create and drop databases."""
    return os.environ.get("EIOKU_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresDatabases:
    """Creates uniquely named scratch databases and drops them at the end."""

    def __init__(self) -> None:
        self._admin = admin_url()
        self._names: list[str] = []

    def create(self) -> str:
        name = f"eioku_test_{uuid.uuid4().hex[:12]}"
        try:
            with psycopg.connect(_libpq(self._admin), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as exc:
            pytest.fail(
                f"PostgreSQL is required and unreachable at {self._admin}: {exc}. "
                "Run the suite with scripts/test, or set EIOKU_TEST_POSTGRES_URL.",
                pytrace=False,
            )
        self._names.append(name)
        return make_url(self._admin).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self._names:
            return
        with psycopg.connect(_libpq(self._admin), autocommit=True) as conn:
            for name in self._names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    return load_registry()


@pytest.fixture(scope="session")
def empty_database(
    tmp_path_factory: pytest.TempPathFactory, postgres_databases: PostgresDatabases
) -> EmptyDatabase:
    return EmptyDatabase(tmp_path_factory, postgres_databases)


class EmptyDatabase:
    """Hands out URLs of new, empty databases on either engine."""

    def __init__(self, tmp: pytest.TempPathFactory, postgres: PostgresDatabases) -> None:
        self._tmp = tmp
        self._postgres = postgres

    def url(self, engine: str) -> str:
        if engine == "sqlite":
            return f"sqlite:///{self._tmp.mktemp('db') / 'eioku.db'}"
        return self._postgres.create()


def clean(store: Store) -> None:
    """Empty every table (projections and FTS indexes included) without dropping the schema."""
    with store.unit_of_work() as uow:
        for table in reversed(metadata.sorted_tables):
            uow.connection.execute(delete(table))


@pytest.fixture(scope="session")
def stores(empty_database: EmptyDatabase, registry: SchemaRegistry) -> Iterator[dict[str, Store]]:
    """One migrated store per engine for the whole session."""
    made = {engine: Store(empty_database.url(engine), registry) for engine in ENGINES}
    for store in made.values():
        store.upgrade()
    yield made
    for store in made.values():
        store.dispose()


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, stores: dict[str, Store]) -> Store:
    """A migrated, empty store, once per engine."""
    chosen = stores[request.param]
    clean(chosen)
    return chosen
