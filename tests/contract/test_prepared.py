"""Statements compiled once per shape and run on the driver's cursor (eioku.storage.prepared),
on both engines: same answers as SQLAlchemy, values checked, connections replaced after a
server-side disconnect, cursor events still fired, text parameters matching their SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import BigInteger, Select, String, bindparam, event, select, text

from eioku.domain.text_query import parse_text_query
from eioku.storage.prepared import StatementCache
from eioku.storage.store import Store
from eioku.storage.tables import ocr_fts, transcript_fts, videos
from tests.factories import make_video

FILMED = datetime(2025, 7, 14, 9, 30, 15, 250_000, tzinfo=UTC)


def _by_id() -> Select[Any]:
    return select(videos.c.filename, videos.c.recorded_at, videos.c.file_size).where(
        videos.c.video_id == bindparam("video_id", type_=String),
        videos.c.file_size >= bindparam("smallest", 0, type_=BigInteger),
    )


@pytest.fixture
def library(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.videos.add(make_video("a", recorded_at=FILMED, file_size=10))
        uow.videos.add(make_video("b", file_size=20))
    return store


def test_one_shape_answers_every_value_like_sqlalchemy(library: Store) -> None:
    cache = StatementCache(library.engine.dialect)
    with library.lookup() as uow:
        for video_id, smallest in [("a", 0), ("b", 0), ("a", 11), ("missing", 0)]:
            values = {"video_id": video_id, "smallest": smallest}
            fast = cache.rows(uow.connection, "by id", _by_id, values)
            slow = [tuple(row) for row in uow.connection.execute(_by_id(), values)]
            assert fast == slow
    assert len(cache) == 1
    with library.lookup() as uow:
        ((_, recorded_at, _),) = cache.rows(
            uow.connection, "by id", _by_id, {"video_id": "a", "smallest": 0}
        )
    assert recorded_at == FILMED  # processed as SQLAlchemy would: aware UTC on both engines
    assert recorded_at.tzinfo is not None


def test_a_constant_keeps_its_value_when_not_given(library: Store) -> None:
    cache = StatementCache(library.engine.dialect)
    with library.lookup() as uow:
        rows = cache.rows(uow.connection, "by id", _by_id, {"video_id": "b"})
    assert [size for *_, size in rows] == [20]


def test_values_must_name_exactly_the_variables(library: Store) -> None:
    cache = StatementCache(library.engine.dialect)
    with library.lookup() as uow:
        cache.rows(uow.connection, "by id", _by_id, {"video_id": "a"})
        with pytest.raises(ValueError, match="video_id"):
            cache.rows(uow.connection, "by id", _by_id, {"video": "a"})
        with pytest.raises(ValueError, match="smallest"):
            cache.rows(uow.connection, "by id", _by_id, {"video_id": "a", "smallest": 1})
        with pytest.raises(ValueError, match="no parameter"):
            cache.rows(uow.connection, "other", _by_id, {"video_id": "a", "nothing": 1})


def test_the_oldest_shape_is_forgotten_beyond_the_size(library: Store) -> None:
    cache = StatementCache(library.engine.dialect, size=2)
    with library.lookup() as uow:
        for shape in ("one", "two", "three", "three"):
            assert cache.rows(uow.connection, shape, _by_id, {"video_id": "a"})
    assert len(cache) == 2


def test_cursor_event_listeners_see_each_statement(library: Store) -> None:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    event.listen(library.lookup_engine, "before_cursor_execute", listen)
    try:
        with library.lookup() as uow:
            assert uow.videos.exists("a")
            assert not uow.videos.exists("zz")
    finally:
        event.remove(library.lookup_engine, "before_cursor_execute", listen)
    assert len(seen) == 2
    assert all("FROM videos" in sql for sql in seen)


def test_a_driver_error_is_raised_as_a_storage_error(library: Store) -> None:
    from eioku.domain.errors import StorageError

    cache = StatementCache(library.engine.dialect)

    def broken() -> Select[Any]:
        return (
            select(text("no_such_column"))
            .select_from(videos)
            .where(videos.c.video_id == bindparam("video_id", type_=String))
        )

    with pytest.raises(StorageError, match="read from the database"), library.lookup() as uow:
        cache.rows(uow.connection, "broken", broken, {"video_id": "a"})
    with library.lookup() as uow:  # the pooled connection still works
        assert uow.videos.exists("a")


@pytest.mark.parametrize("words", ["dog", "red dog", '"big red" dog -cat', "ünïcode ½ 東京"])
@pytest.mark.parametrize("table", [transcript_fts, ocr_fts], ids=lambda t: t.name)
@pytest.mark.parametrize("asset_id", [None, "v1"])
def test_text_values_are_the_values_the_text_conditions_carry(
    store: Store, words: str, table: Any, asset_id: str | None
) -> None:
    query = parse_text_query(words)
    values = store.backend.text_values(table, query, asset_id=asset_id)
    assert values
    dialect = store.engine.dialect
    for condition in (
        store.backend.text_filter(table, query, asset_id=asset_id),
        store.backend.text_match(table, query, asset_id=asset_id).condition,
    ):
        carried = condition.compile(dialect=dialect).construct_params(_check=False)
        assert {name: carried[name] for name in values} == values


def test_a_lookup_survives_the_server_closing_its_connection(
    empty_database: Any, registry: Any
) -> None:
    """PostgreSQL only: a restart or an idle timeout closes pooled connections."""
    store = Store(empty_database.url("postgresql"), registry)
    try:
        store.upgrade()
        with store.unit_of_work() as uow:
            uow.videos.add(make_video("a"))
        with store.lookup() as uow:
            assert uow.videos.exists("a")
            pid = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with store.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with store.lookup() as uow:  # the same pooled connection, now dead
            assert uow.videos.exists("a")
            assert uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
    finally:
        store.dispose()


def test_lookups_plan_each_statement_for_its_values(empty_database: Any, registry: Any) -> None:
    """PostgreSQL only: a generic plan of a prepared lookup cannot know how common a word or
    a label is, so lookup connections ask for plans made for the values at hand."""
    store = Store(empty_database.url("postgresql"), registry)
    try:
        with store.lookup() as uow:
            mode = uow.connection.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
        assert mode == "force_custom_plan"
    finally:
        store.dispose()


def test_a_statement_planned_once_switches_the_session_only_when_needed(
    empty_database: Any, registry: Any
) -> None:
    """PostgreSQL only: plan_once statements run under generic plans, the others under
    custom ones, and the session is switched only between statements that differ."""
    store = Store(empty_database.url("postgresql"), registry)
    cache = StatementCache(store.lookup_engine.dialect)
    sets: list[str] = []

    def listen(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.startswith("SET"):
            sets.append(sql)

    try:
        store.upgrade()
        with store.unit_of_work() as uow:
            uow.videos.add(make_video("a"))
        event.listen(store.lookup_engine, "before_cursor_execute", listen)
        with store.lookup() as uow:
            conn = uow.connection
            for plan_once in (True, True, False, False, True):
                shape = ("by id", plan_once)
                rows = cache.rows(conn, shape, _by_id, {"video_id": "a"}, plan_once=plan_once)
                assert len(rows) == 1
                mode = conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
                assert mode == ("force_generic_plan" if plan_once else "force_custom_plan")
    finally:
        store.dispose()
    assert len(sets) == 3
