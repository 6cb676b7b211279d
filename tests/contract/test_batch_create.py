"""batch_create is all-or-nothing on every engine (SPEC §9, plan 19.5)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import (
    Conflict,
    EiokuError,
    NotFound,
    SchemaNotFoundError,
    SchemaValidationError,
)
from eioku.domain.runs import Run
from eioku.projections import projections_for
from eioku.storage.projections import TABLES
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import artifacts, run_outputs
from tests.conftest import clean
from tests.factories import (
    PAYLOAD_STRATEGIES,
    artifact_specs,
    build_artifact,
    make_artifact,
    make_run,
    make_video,
    seed_runs,
    store_settings,
)

KINDS = tuple(sorted(PAYLOAD_STRATEGIES))
for_store = store_settings()

# Payloads each schema rejects, one per type.
INVALID_PAYLOADS: dict[str, dict[str, Any]] = {
    "transcript.segment": {"text": ""},
    "scene": {"scene_index": -1, "method": "content", "score": 1.0, "frame_number": 0},
    "object.detection": {"label": "dog", "confidence": 1.5},
    "face.detection": {"confidence": 0.5, "frame_number": 0},
    "place.classification": {"label": "", "confidence": 0.2, "frame_number": 0},
    "ocr.text": {
        "text": "x",
        "confidence": 0.5,
        "bounding_box": [{"x": 0, "y": 0}],
        "frame_number": 0,
    },
    "video.metadata": {"duration_ms": -5},
}


def new_world(store: Store, runs: int = 1) -> list[Run]:
    """A video with ``runs`` runs (and nothing else)."""
    video = make_video()
    made = [make_run(video.video_id) for _ in range(runs)]
    with store.unit_of_work() as uow:
        seed_runs(uow, video, *made)
    return made


def mixed_batch(run: Run, size: int) -> list[ArtifactEnvelope]:
    return [make_artifact(run, KINDS[i % len(KINDS)], start=i * 10) for i in range(size)]


def counts(uow: UnitOfWork) -> dict[str, int]:
    """Rows in artifacts, run_outputs and every projection table."""
    tables = {"artifacts": artifacts, "run_outputs": run_outputs, **TABLES}
    return {
        name: uow.connection.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in tables.items()
    }


def assert_nothing_written(store: Store) -> None:
    with store.unit_of_work(write=False) as uow:
        assert set(counts(uow).values()) == {0}


def reject_inside(store: Store, batch: list[ArtifactEnvelope]) -> EiokuError:
    """Call batch_create, catch its error *inside* the unit of work and let it commit.

    A caller that records the failure and goes on must still find nothing of the batch.
    """
    with store.unit_of_work() as uow:
        try:
            uow.artifacts.batch_create(batch)
        except EiokuError as exc:
            caught = exc
        else:
            pytest.fail("batch_create accepted an invalid batch")
        assert counts(uow)["artifacts"] == 0
    return caught


# -- success -----------------------------------------------------------------------------


def test_a_batch_of_two_thousand_mixed_artifacts_is_stored_whole(store: Store) -> None:
    (run,) = new_world(store)
    batch = mixed_batch(run, 2_000)
    with store.unit_of_work() as uow:
        stored = uow.artifacts.batch_create(batch)
    assert [e.artifact_id for e in stored] == [e.artifact_id for e in batch]
    per_type = Counter(e.artifact_type for e in batch)
    with store.unit_of_work(write=False) as uow:
        found = counts(uow)
        assert found["artifacts"] == 2_000
        for name, table_count in found.items():
            if name in TABLES:
                fed_by = [k for k in KINDS if any(p.table == name for p in projections_for(k, 1))]
                assert table_count == sum(per_type[k] for k in fed_by)
        outputs = {
            kind: [(o.run_id, o.artifact_count) for o in uow.selections.outputs(run.asset_id, kind)]
            for kind in KINDS
        }
        assert outputs == {kind: [(run.run_id, per_type[kind])] for kind in KINDS}
        assert uow.artifacts.get_by_asset(run.asset_id) == stored


def test_an_empty_batch_stores_nothing_and_returns_nothing(store: Store) -> None:
    new_world(store)
    with store.unit_of_work() as uow:
        assert uow.artifacts.batch_create([]) == []
    assert_nothing_written(store)


def test_batches_of_one_run_add_up_in_its_run_output(store: Store) -> None:
    (run,) = new_world(store)
    for start in (0, 100):
        with store.unit_of_work() as uow:
            uow.artifacts.batch_create(
                [make_artifact(run, "scene", start=start + i) for i in range(3)]
            )
    with store.unit_of_work(write=False) as uow:
        assert [o.artifact_count for o in uow.selections.outputs(run.asset_id, "scene")] == [6]


# -- one invalid item: nothing is written --------------------------------------------------


@pytest.mark.parametrize("position", [0, random.Random(19_5).randrange(1, 9_999), 9_999])
def test_one_invalid_payload_among_ten_thousand_writes_nothing_and_names_its_item(
    store: Store, position: int
) -> None:
    (run,) = new_world(store)
    batch = mixed_batch(run, 10_000)
    kind = batch[position].artifact_type
    bad = batch[position].model_copy(update={"payload": INVALID_PAYLOADS[kind]})
    batch[position] = bad
    with pytest.raises(SchemaValidationError) as caught, store.unit_of_work() as uow:
        uow.artifacts.batch_create(batch)
    error = caught.value
    assert f"item {position}" in error.message
    assert bad.artifact_id in error.message
    assert error.details is not None
    (item,) = error.details["items"]
    assert (item["index"], item["artifact_id"]) == (position, bad.artifact_id)
    assert item["errors"]
    assert_nothing_written(store)


@for_store
@given(
    specs=st.lists(artifact_specs(), min_size=1, max_size=30),
    data=st.data(),
)
def test_batches_with_invalid_items_report_each_and_write_nothing(
    store: Store, specs: list[dict[str, Any]], data: st.DataObject
) -> None:
    clean(store)
    (run,) = new_world(store)
    batch = [build_artifact(run, spec) for spec in specs]
    positions = sorted(
        data.draw(st.sets(st.integers(0, len(batch) - 1), min_size=1, max_size=len(batch)))
    )
    for index in positions:
        payload = INVALID_PAYLOADS[batch[index].artifact_type]
        batch[index] = batch[index].model_copy(update={"payload": payload})
    error = reject_inside(store, batch)
    assert isinstance(error, SchemaValidationError)
    assert error.details is not None
    reported = [(item["index"], item["artifact_id"]) for item in error.details["items"]]
    assert reported == [(i, batch[i].artifact_id) for i in positions]
    assert_nothing_written(store)


def test_an_unknown_schema_raises_schema_not_found_and_writes_nothing(store: Store) -> None:
    (run,) = new_world(store)
    batch = mixed_batch(run, 20)
    batch[7] = batch[7].model_copy(update={"artifact_type": "hologram"})
    batch[9] = batch[9].model_copy(update={"schema_version": 99})
    error = reject_inside(store, batch)
    assert isinstance(error, SchemaNotFoundError)
    assert error.details is not None
    assert [item["index"] for item in error.details["items"]] == [7, 9]
    assert_nothing_written(store)


def test_a_repeated_artifact_id_in_the_batch_is_a_conflict(store: Store) -> None:
    (run,) = new_world(store)
    batch = mixed_batch(run, 10)
    batch[6] = batch[6].model_copy(update={"artifact_id": batch[2].artifact_id})
    error = reject_inside(store, batch)
    assert isinstance(error, Conflict)
    assert error.details is not None
    assert [item["index"] for item in error.details["items"]] == [6]
    assert_nothing_written(store)


def test_an_artifact_id_already_stored_is_a_conflict_and_nothing_of_the_batch_is_kept(
    store: Store,
) -> None:
    (run,) = new_world(store)
    with store.unit_of_work() as uow:
        (first,) = uow.artifacts.batch_create([make_artifact(run, "ocr.text", start=1)])
    batch = mixed_batch(run, 50)
    batch[30] = batch[30].model_copy(update={"artifact_id": first.artifact_id})
    with pytest.raises(Conflict), store.unit_of_work() as uow:
        uow.artifacts.batch_create(batch)
    with store.unit_of_work(write=False) as uow:
        assert uow.artifacts.get_by_asset(run.asset_id) == [first]
        found = counts(uow)
        assert (found["artifacts"], found["ocr_fts"], found["run_outputs"]) == (1, 1, 1)


def test_a_conflicting_batch_leaves_the_unit_of_work_usable_and_unchanged(store: Store) -> None:
    (run,) = new_world(store)
    with store.unit_of_work() as uow:
        (first,) = uow.artifacts.batch_create([make_artifact(run, "scene", start=1)])
    batch = mixed_batch(run, 20)
    batch[-1] = batch[-1].model_copy(update={"artifact_id": first.artifact_id})
    with store.unit_of_work() as uow:
        with pytest.raises(Conflict):
            uow.artifacts.batch_create(batch)
        after = uow.artifacts.batch_create([make_artifact(run, "scene", start=2)])
    with store.unit_of_work(write=False) as uow:
        assert uow.artifacts.get_by_asset(run.asset_id) == [first, *after]
        assert counts(uow)["artifacts"] == 2
        assert counts(uow)["scene_ranges"] == 2


# -- runs ----------------------------------------------------------------------------------


def test_an_artifact_naming_an_unknown_run_is_not_found_and_writes_nothing(store: Store) -> None:
    (run,) = new_world(store)
    ghost = make_run(run.asset_id)  # never stored
    batch = [*mixed_batch(run, 5), make_artifact(ghost, "scene")]
    error = reject_inside(store, batch)
    assert isinstance(error, NotFound)
    assert error.details is not None
    assert error.details["run_id"] == ghost.run_id
    assert_nothing_written(store)


def test_an_artifact_naming_a_run_of_another_video_is_not_found(store: Store) -> None:
    (mine,) = new_world(store)
    (theirs,) = new_world(store)
    stolen = make_artifact(theirs, "scene").model_copy(update={"asset_id": mine.asset_id})
    error = reject_inside(store, [make_artifact(mine, "scene"), stolen])
    assert isinstance(error, NotFound)
    assert_nothing_written(store)


# -- text no engine can store --------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "before\x00after"},
        {"text": "ok", "speaker": "\x00"},
        {"text": "ok", "language": "e\x00n"},
    ],
)
def test_nul_in_payload_text_is_a_schema_validation_error_on_every_engine(
    store: Store, payload: dict[str, Any]
) -> None:
    (run,) = new_world(store)
    batch = [make_artifact(run, start=0), make_artifact(run, start=1, payload=payload)]
    error = reject_inside(store, batch)
    assert isinstance(error, SchemaValidationError)
    assert error.details is not None
    assert [item["index"] for item in error.details["items"]] == [1]
    assert_nothing_written(store)


def test_nul_in_a_nested_payload_string_is_rejected(store: Store) -> None:
    (run,) = new_world(store)
    payload = {
        "label": "kitchen",
        "confidence": 0.5,
        "alternative_labels": [{"label": "bar\x00", "confidence": 0.1}],
        "frame_number": 1,
    }
    error = reject_inside(store, [make_artifact(run, "place.classification", payload=payload)])
    assert isinstance(error, SchemaValidationError)
    assert_nothing_written(store)


@pytest.mark.parametrize(
    "text", ["C:\\u0000 is not a NUL", "\\\\u0000", "\\u00001", "tab\\t and \\n", "\\"]
)
def test_backslashes_that_only_look_like_a_nul_escape_are_stored_verbatim(
    store: Store, text: str
) -> None:
    (run,) = new_world(store)
    with store.unit_of_work() as uow:
        (stored,) = uow.artifacts.batch_create([make_artifact(run, payload={"text": text})])
    with store.unit_of_work(write=False) as uow:
        assert uow.artifacts.get_by_id(stored.artifact_id).payload["text"] == text
