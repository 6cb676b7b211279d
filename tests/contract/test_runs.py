"""Run lifecycle through the store on every engine (SPEC §4; §10 property 4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eioku.domain.errors import Conflict, NotFound, RunStateError
from eioku.domain.runs import RunStatus, StageStatus, can_transition
from eioku.storage.store import Store
from tests.conftest import clean
from tests.factories import later, make_run, make_video, seed_runs, store_settings

for_store = store_settings()


@for_store
@given(targets=st.lists(st.sampled_from(list(RunStatus)), max_size=8))
def test_stored_runs_take_only_valid_transitions_and_finished_runs_stay_finished(
    store: Store, targets: list[RunStatus]
) -> None:
    clean(store)
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
    state = RunStatus.QUEUED
    for target in targets:
        if can_transition(state, target):
            with store.unit_of_work() as uow:
                moved = uow.runs.transition(run.run_id, target, error="boom")
            assert moved.status is target
            state = target
        else:
            with pytest.raises(RunStateError), store.unit_of_work() as uow:
                uow.runs.transition(run.run_id, target)
        with store.unit_of_work(write=False) as uow:
            stored = uow.runs.get(run.run_id)
        assert stored.status is state
        assert (stored.finished_at is not None) == state.is_terminal


def test_transitioning_an_unknown_run_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound), store.unit_of_work() as uow:
        uow.runs.transition("missing", RunStatus.RUNNING)


def test_a_run_of_an_unknown_video_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound), store.unit_of_work() as uow:
        uow.runs.create(make_run("no-such-video"))


def test_a_run_id_used_twice_is_a_conflict(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
    with pytest.raises(Conflict), store.unit_of_work() as uow:
        uow.runs.create(run)


def test_runs_read_back_with_their_stages_in_order(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id, stages=("transcribe", "scenes", "ocr"))
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        uow.runs.set_stage(run.run_id, "scenes", StageStatus.RUNNING, progress=0.5)
    with store.unit_of_work(write=False) as uow:
        stored = uow.runs.get(run.run_id)
    assert [s.stage for s in stored.stages] == ["transcribe", "scenes", "ocr"]
    scenes = stored.stages[1]
    assert (scenes.status, scenes.progress) == (StageStatus.RUNNING, 0.5)
    assert scenes.started_at is not None
    assert stored.started_at == run.started_at


def test_runs_of_a_video_list_newest_first(store: Store) -> None:
    video = make_video()
    runs = [make_run(video.video_id, started_at=later(m)) for m in (5, 1, 9)]
    with store.unit_of_work() as uow:
        seed_runs(uow, video, *runs)
    with store.unit_of_work(write=False) as uow:
        listed = uow.runs.list_for_video(video.video_id)
    assert [r.started_at for r in listed] == [later(9), later(5), later(1)]


def test_a_lookup_reads_committed_data_statement_by_statement(store: Store) -> None:
    """Store.lookup holds no transaction: each statement sees what is committed by then."""
    with store.lookup() as reader:
        assert reader.videos.list() == []
        with store.unit_of_work() as writer:
            writer.videos.add(make_video("v-lookup"))
        assert [v.video_id for v in reader.videos.list()] == ["v-lookup"]
