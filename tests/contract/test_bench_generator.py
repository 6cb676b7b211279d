"""The navigation benchmark's fast generator writes what batch_create writes, on every engine."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from bench.nav_data import Shape, library
from bench.nav_load import _secondary_indexes, load_fast, load_reference
from sqlalchemy import Table, select

from eioku.domain.schemas.registry import SchemaRegistry
from eioku.storage.projections import projection_names
from eioku.storage.store import Store
from eioku.storage.tables import artifacts, object_labels, runs, videos
from tests.conftest import ENGINES, EmptyDatabase

SHAPE = Shape(total=900, videos=9, seed=5)


def _store(empty_database: EmptyDatabase, registry: SchemaRegistry, engine: str) -> Store:
    store = Store(empty_database.url(engine), registry)
    store.upgrade()
    return store


def _rows(store: Store, table: Table, key: str) -> list[tuple[Any, ...]]:
    with store.unit_of_work(write=False) as uow:
        found = uow.connection.execute(select(table).order_by(table.c[key])).all()
    return [tuple(_json(value) for value in row) for row in found]


def _json(value: Any) -> Any:
    """Payloads as text on both engines (SQLite keeps the text, PostgreSQL JSONB parses it)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS) if isinstance(value, dict) else value


def _snapshots(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.unit_of_work(write=False) as uow:
        return {name: uow.projections.snapshot(name) for name in projection_names()}


def test_shape_exercises_selection() -> None:
    plans = list(library(SHAPE))
    assert sum(len(made) for _, made in plans) == SHAPE.total
    assert any(len(plan.runs) == 2 for plan, _ in plans)
    assert any(len(plan.runs) == 1 for plan, _ in plans)


@pytest.mark.parametrize("engine", ENGINES)
def test_fast_load_writes_what_batch_create_writes(
    engine: str, empty_database: EmptyDatabase, registry: SchemaRegistry
) -> None:
    fast = _store(empty_database, registry, engine)
    reference = _store(empty_database, registry, engine)
    try:
        load_fast(fast, SHAPE, lambda _line: None)
        load_reference(reference, SHAPE)
        expected = _snapshots(reference)
        assert _snapshots(fast) == expected
        selected = [c.name for c in object_labels.columns if c.name != "id"].index("selected")
        assert any(not row[selected] for row in expected["object_labels"])  # selection hid some
        assert sum(len(rows) for rows in expected.values()) > SHAPE.total
        assert sorted(_secondary_indexes(fast)) == sorted(_secondary_indexes(reference))
        for table, key in ((videos, "video_id"), (runs, "run_id"), (artifacts, "artifact_id")):
            assert _rows(fast, table, key) == _rows(reference, table, key)
    finally:
        fast.dispose()
        reference.dispose()
