"""The one Alembic history builds exactly the declared schema on every engine."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from eioku.domain.schemas.registry import SchemaRegistry
from eioku.storage import migrations
from eioku.storage.store import Store
from eioku.storage.tables import metadata
from tests.conftest import ENGINES, EmptyDatabase


def _schema_diff(store: Store) -> list[Any]:
    engine_only = store.backend.engine_only_objects()

    def include_name(name: str | None, _type: str, _parent: Any) -> bool:
        return name not in engine_only and name != "alembic_version"

    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": include_name, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("engine", ENGINES)
def test_upgrade_head_matches_the_declared_metadata(
    engine: str, empty_database: EmptyDatabase, registry: SchemaRegistry
) -> None:
    store = Store(empty_database.url(engine), registry)
    try:
        store.upgrade()
        assert _schema_diff(store) == []
        assert migrations.current_revision(store.engine) == migrations.head_revision(store.engine)
    finally:
        store.dispose()


@pytest.mark.parametrize("engine", ENGINES)
def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_it(
    engine: str, empty_database: EmptyDatabase, registry: SchemaRegistry
) -> None:
    store = Store(empty_database.url(engine), registry)
    try:
        store.upgrade()
        migrations.downgrade(store.engine, "base")
        leftover = set(inspect(store.engine).get_table_names()) - {"alembic_version"}
        assert leftover == set()
        store.upgrade()
        assert _schema_diff(store) == []
    finally:
        store.dispose()


@pytest.mark.parametrize("engine", ENGINES)
def test_check_schema_reports_an_unmigrated_database(
    engine: str, empty_database: EmptyDatabase, registry: SchemaRegistry
) -> None:
    from eioku.domain.errors import StorageError

    store = Store(empty_database.url(engine), registry)
    try:
        with pytest.raises(StorageError, match="eioku db upgrade"):
            store.check_schema()
        store.upgrade()
        store.check_schema()
    finally:
        store.dispose()
