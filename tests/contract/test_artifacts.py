"""Artifact storage on every engine (SPEC §2; §10 properties 1, 6 and 15)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.schemas.registry import SchemaRegistry
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.projections import projections_for
from eioku.storage.artifacts import SpanFilter
from eioku.storage.clock import utcnow
from eioku.storage.projections import TABLES
from eioku.storage.store import Store
from eioku.storage.tables import artifacts, run_outputs
from tests.conftest import clean
from tests.factories import (
    CONFIG_HASHES,
    PAYLOAD_STRATEGIES,
    PRODUCER_VERSIONS,
    PRODUCERS,
    artifact_specs,
    build_artifact,
    later,
    make_artifact,
    make_run,
    make_video,
    seed_runs,
    spans,
    store_settings,
)

KINDS = tuple(sorted(PAYLOAD_STRATEGIES))
ALL = SelectionPolicy(mode=SelectionMode.ALL)
for_store = store_settings()

# At least one artifact of every type in every example, plus a few more of any type.
every_type_specs = st.tuples(*(artifact_specs(types=(kind,)) for kind in KINDS)).flatmap(
    lambda each: st.lists(artifact_specs(), max_size=8).map(lambda more: [*each, *more])
)


def store_one_run(store: Store, specs: list[dict[str, Any]]) -> list[ArtifactEnvelope]:
    """A new video with one run that produced an artifact per spec; returns them stored."""
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        return uow.artifacts.batch_create([build_artifact(run, spec) for spec in specs])


def by_position(envelopes: list[ArtifactEnvelope]) -> list[ArtifactEnvelope]:
    return sorted(envelopes, key=lambda e: (e.span_start_ms, e.artifact_id))


def ids(envelopes: list[ArtifactEnvelope]) -> list[str]:
    return [e.artifact_id for e in envelopes]


# -- property 1: envelope completeness ---------------------------------------------------


@for_store
@given(specs=every_type_specs)
def test_every_stored_artifact_reads_back_with_all_fields_set_and_created_at_in_utc(
    store: Store, specs: list[dict[str, Any]]
) -> None:
    clean(store)
    before = utcnow()
    stored = store_one_run(store, specs)
    after = utcnow()
    with store.unit_of_work(write=False) as uow:
        for envelope in stored:
            got = uow.artifacts.get_by_id(envelope.artifact_id)
            for name in ArtifactEnvelope.model_fields:
                assert getattr(got, name) is not None, name
            assert got.created_at is not None
            assert got.created_at.tzinfo is UTC
            assert before <= got.created_at <= after


def test_created_at_is_set_by_the_store_not_left_null(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        stored = uow.artifacts.create(make_artifact(run))
    assert stored.created_at is not None
    with store.unit_of_work(write=False) as uow:
        query = select(func.count()).select_from(artifacts).where(artifacts.c.created_at.is_(None))
        assert uow.connection.execute(query).scalar_one() == 0


# -- property 6: storage consistency for every artifact type -----------------------------


@for_store
@given(specs=every_type_specs)
def test_artifacts_of_every_type_read_back_equal_by_id_and_by_asset(
    store: Store, registry: SchemaRegistry, specs: list[dict[str, Any]]
) -> None:
    clean(store)
    video = make_video()
    run = make_run(video.video_id)
    written = [build_artifact(run, spec) for spec in specs]
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        stored = uow.artifacts.batch_create(written)
    for original, saved in zip(written, stored, strict=True):
        fixed = {"payload", "created_at"}
        assert saved.model_dump(exclude=fixed) == original.model_dump(exclude=fixed)
        expected = registry.validate(original.artifact_type, 1, original.payload)
        assert saved.payload == expected
    with store.unit_of_work(write=False) as uow:
        assert [uow.artifacts.get_by_id(e.artifact_id) for e in stored] == stored
        assert uow.artifacts.get_by_asset(video.video_id) == by_position(stored)
        for kind in KINDS:
            of_kind = uow.artifacts.get_by_asset(video.video_id, SpanFilter(artifact_type=kind))
            assert of_kind == by_position([e for e in stored if e.artifact_type == kind])


@pytest.mark.parametrize("kind", KINDS)
def test_artifacts_of_one_video_never_show_up_under_another(store: Store, kind: str) -> None:
    first, second = make_video(), make_video()
    run_one, run_two = make_run(first.video_id), make_run(second.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, first, run_one)
        seed_runs(uow, second, run_two)
        one = uow.artifacts.batch_create([make_artifact(run_one, kind, start=i) for i in range(3)])
        two = uow.artifacts.batch_create([make_artifact(run_two, kind, start=i) for i in range(2)])
    with store.unit_of_work(write=False) as uow:
        assert uow.artifacts.get_by_asset(first.video_id) == one
        assert uow.artifacts.get_by_asset(second.video_id) == two
        assert uow.artifacts.get_by_asset("no-such-video") == []


def test_get_by_id_of_an_unknown_artifact_is_not_found(store: Store) -> None:
    with store.unit_of_work(write=False) as uow, pytest.raises(NotFound) as caught:
        uow.artifacts.get_by_id("missing")
    assert caught.value.details == {"artifact_id": "missing"}


# -- property 15: span overlap -----------------------------------------------------------


@for_store
@given(
    placed=st.lists(st.tuples(spans(max_ms=60), st.sampled_from(KINDS)), max_size=25),
    window=spans(max_ms=80),
    kind=st.none() | st.sampled_from(KINDS),
)
def test_span_query_returns_exactly_the_artifacts_with_start_before_to_and_end_after_from(
    store: Store,
    placed: list[tuple[tuple[int, int], str]],
    window: tuple[int, int],
    kind: str | None,
) -> None:
    clean(store)
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        stored = uow.artifacts.batch_create(
            [make_artifact(run, k, start=start, end=end) for (start, end), k in placed]
        )
    from_ms, to_ms = window
    expected = [
        e
        for e in stored
        if e.span_start_ms < to_ms
        and e.span_end_ms > from_ms
        and (kind is None or e.artifact_type == kind)
    ]
    with store.unit_of_work(write=False) as uow:
        got = uow.artifacts.get_by_span(video.video_id, from_ms, to_ms, artifact_type=kind)
    assert got == by_position(expected)


def test_span_query_treats_touching_spans_as_not_overlapping(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        _, inside, _, point = uow.artifacts.batch_create(
            [
                make_artifact(run, "scene", start=0, end=100),
                make_artifact(run, "scene", start=100, end=200),
                make_artifact(run, "scene", start=200, end=300),
                make_artifact(run, "scene", start=150, end=150),
            ]
        )
    with store.unit_of_work(write=False) as uow:
        got = uow.artifacts.get_by_span(video.video_id, 100, 200)
        assert ids(got) == ids([inside, point])
        assert ids(uow.artifacts.get_by_span(video.video_id, 150, 150)) == [inside.artifact_id]


def test_span_query_with_from_after_to_is_invalid(store: Store) -> None:
    with store.unit_of_work(write=False) as uow, pytest.raises(InvalidQuery):
        uow.artifacts.get_by_span("any", 10, 5)


# -- provenance (req. 12.4) ----------------------------------------------------------------


@for_store
@given(
    specs=st.lists(artifact_specs(), min_size=1, max_size=15),
    producer=st.none() | st.sampled_from(PRODUCERS),
    version=st.none() | st.sampled_from(PRODUCER_VERSIONS),
    config_hash=st.none() | st.sampled_from(CONFIG_HASHES),
)
def test_provenance_queries_return_exactly_the_matching_artifacts(
    store: Store,
    specs: list[dict[str, Any]],
    producer: str | None,
    version: str | None,
    config_hash: str | None,
) -> None:
    clean(store)
    half = len(specs) // 2
    stored = store_one_run(store, specs[:half]) + store_one_run(store, specs[half:])
    asked = {"producer": producer, "producer_version": version, "config_hash": config_hash}
    with store.unit_of_work(write=False) as uow:
        if not any(asked.values()):
            with pytest.raises(InvalidQuery):
                uow.artifacts.by_provenance(**asked)
            return
        got = uow.artifacts.by_provenance(**asked)
    expected = [
        e
        for e in stored
        if all(value is None or getattr(e, name) == value for name, value in asked.items())
    ]
    assert got == sorted(expected, key=lambda e: e.artifact_id)


def test_provenance_query_honours_its_limit(store: Store) -> None:
    store_one_run(store, [{"artifact_type": "scene", "start": i} for i in range(5)])
    with store.unit_of_work(write=False) as uow:
        assert len(uow.artifacts.by_provenance(producer="test-producer", limit=3)) == 3


# -- delete ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_delete_removes_the_artifact_and_its_projection_row(store: Store, kind: str) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        gone, kept = uow.artifacts.batch_create(
            [make_artifact(run, kind, start=0), make_artifact(run, kind, start=5)]
        )
    with store.unit_of_work() as uow:
        uow.artifacts.delete(gone.artifact_id)
    with store.unit_of_work(write=False) as uow:
        with pytest.raises(NotFound):
            uow.artifacts.get_by_id(gone.artifact_id)
        assert uow.artifacts.get_by_asset(video.video_id) == [kept]
        for projection in projections_for(kind, 1):
            table = TABLES[projection.table]
            rows = uow.connection.execute(select(table.c.artifact_id)).scalars().all()
            assert rows == [kept.artifact_id]
        count = select(run_outputs.c.artifact_count).where(run_outputs.c.run_id == run.run_id)
        assert uow.connection.execute(count).scalars().all() == [1]


def test_deleting_the_last_artifact_of_a_run_removes_its_run_output(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        only = uow.artifacts.create(make_artifact(run, "scene"))
    with store.unit_of_work() as uow:
        uow.artifacts.delete(only.artifact_id)
        assert uow.selections.outputs(video.video_id, "scene") == []
        assert uow.runs.get(run.run_id).run_id == run.run_id


def test_delete_of_an_unknown_artifact_is_not_found(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.artifacts.delete("missing")


# -- keyset pagination -------------------------------------------------------------------


@for_store
@given(
    starts=st.lists(st.integers(min_value=0, max_value=5), max_size=20),
    page=st.integers(min_value=1, max_value=7),
)
def test_keyset_pages_visit_every_artifact_once_in_start_then_id_order(
    store: Store, starts: list[int], page: int
) -> None:
    clean(store)
    stored = store_one_run(
        store, [{"artifact_type": "object.detection", "start": s} for s in starts]
    )
    seen: list[ArtifactEnvelope] = []
    after: tuple[int, str] | None = None
    with store.unit_of_work(write=False) as uow:
        video_id = stored[0].asset_id if stored else "nothing"
        while True:
            chunk = uow.artifacts.get_by_asset(video_id, limit=page, after=after)
            assert len(chunk) <= page
            seen += chunk
            if len(chunk) < page:
                break
            after = (chunk[-1].span_start_ms, chunk[-1].artifact_id)
        streamed = list(uow.artifacts.iter_by_asset(video_id))
    assert seen == by_position(stored)
    assert streamed == seen


@pytest.mark.parametrize("limit", [0, -1])
def test_non_positive_limit_is_an_invalid_query(store: Store, limit: int) -> None:
    with store.unit_of_work(write=False) as uow, pytest.raises(InvalidQuery):
        uow.artifacts.get_by_asset("any", limit=limit)


def test_filters_by_run_and_producer_narrow_a_video_read(store: Store) -> None:
    video = make_video()
    first = make_run(video.video_id)
    second = make_run(video.video_id, started_at=later(60))
    with store.unit_of_work() as uow:
        seed_runs(uow, video, first, second)
        old = uow.artifacts.create(make_artifact(first, "scene", producer="a"))
        new = uow.artifacts.create(make_artifact(second, "scene", producer="b"))
    with store.unit_of_work(write=False) as uow:
        read = uow.artifacts.get_by_asset
        assert read(video.video_id) == [new]  # default: latest run only
        assert read(video.video_id, SpanFilter(run_id=first.run_id)) == [old]
        assert read(video.video_id, SpanFilter(producer="a")) == []  # not in latest run
        assert read(video.video_id, SpanFilter(producer="a"), selection=ALL) == [old]
