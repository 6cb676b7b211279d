"""Selection flags of projection rows across batches: each batch flips only what it changes.

``ProjectionWriter.add`` places a batch's rows with the selection after it and updates
stored rows only where the batch changed the selection; these cases pin down each way a
later batch can change (or not change) what an earlier batch's rows must say.
"""

from __future__ import annotations

from sqlalchemy import select

from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.storage.projections import TABLES
from eioku.storage.store import Store
from tests.factories import later, make_artifact, make_run, make_video, seed_runs

KIND = "object.detection"
LABELS = TABLES["object_labels"]


def flags(store: Store) -> dict[str, bool]:
    """artifact_id -> selected, for every object_labels row."""
    with store.unit_of_work(write=False) as uow:
        rows = uow.connection.execute(select(LABELS.c.artifact_id, LABELS.c.selected))
        return {row.artifact_id: bool(row.selected) for row in rows}


def add(store: Store, run: Run, *starts: int, profile: ModelProfile | None = None) -> list[str]:
    """Store one batch of object detections for ``run``; returns their ids."""
    batch = [make_artifact(run, KIND, start=start, profile=profile) for start in starts]
    with store.unit_of_work() as uow:
        return [e.artifact_id for e in uow.artifacts.batch_create(batch)]


def test_a_newer_run_displaces_the_older_runs_rows_in_a_later_batch(store: Store) -> None:
    video = make_video()
    old, new = make_run(video.video_id), make_run(video.video_id, started_at=later(5))
    with store.unit_of_work() as uow:
        seed_runs(uow, video, old, new)
    first = add(store, old, 0, 10)
    assert set(flags(store).values()) == {True}
    second = add(store, new, 20)
    assert flags(store) == {**dict.fromkeys(first, False), **dict.fromkeys(second, True)}


def test_adding_to_the_selected_or_an_older_run_leaves_earlier_flags_alone(store: Store) -> None:
    video = make_video()
    old, new = make_run(video.video_id), make_run(video.video_id, started_at=later(5))
    with store.unit_of_work() as uow:
        seed_runs(uow, video, old, new)
    newest = add(store, new, 0)
    more = add(store, new, 10)
    older = add(store, old, 20)
    expected = {**dict.fromkeys(newest + more, True), **dict.fromkeys(older, False)}
    assert flags(store) == expected


def test_a_run_whose_earlier_rows_were_unselected_is_switched_on_whole(store: Store) -> None:
    video = make_video()
    fast = make_run(video.video_id, profile=ModelProfile.FAST)
    mixed = make_run(video.video_id, started_at=later(5))
    policy = SelectionPolicy(mode=SelectionMode.PROFILE, preferred_profile=ModelProfile.FAST)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, fast, mixed)
        uow.selections.set(video.video_id, KIND, policy)
    fast_rows = add(store, fast, 0)
    balanced = add(store, mixed, 10, profile=ModelProfile.BALANCED)
    assert flags(store) == {**dict.fromkeys(fast_rows, True), **dict.fromkeys(balanced, False)}
    # The newer run now has fast output too: it is selected, with the rows it stored before.
    fast_too = add(store, mixed, 20, profile=ModelProfile.FAST)
    expected = {**dict.fromkeys(fast_rows, False), **dict.fromkeys(balanced + fast_too, True)}
    assert flags(store) == expected


def test_a_run_switched_on_from_no_selection_brings_its_earlier_rows(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    policy = SelectionPolicy(mode=SelectionMode.PROFILE, preferred_profile=ModelProfile.FAST)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        uow.selections.set(video.video_id, KIND, policy)
    balanced = add(store, run, 0, profile=ModelProfile.BALANCED)
    assert flags(store) == dict.fromkeys(balanced, False)
    fast = add(store, run, 10, profile=ModelProfile.FAST)
    assert flags(store) == dict.fromkeys(balanced + fast, True)


def test_a_pinned_run_stays_selected_when_a_newer_run_adds_rows(store: Store) -> None:
    video = make_video()
    pinned, newer = make_run(video.video_id), make_run(video.video_id, started_at=later(5))
    with store.unit_of_work() as uow:
        seed_runs(uow, video, pinned, newer)
    kept = add(store, pinned, 0)
    policy = SelectionPolicy(mode=SelectionMode.PINNED, pinned_run_id=pinned.run_id)
    with store.unit_of_work() as uow:
        uow.selections.set(video.video_id, KIND, policy)
    other = add(store, newer, 10)
    assert flags(store) == {**dict.fromkeys(kept, True), **dict.fromkeys(other, False)}


def test_one_batch_over_several_videos_flags_each_video_by_its_own_runs(store: Store) -> None:
    first, second = make_video(), make_video()
    old = make_run(first.video_id)
    new = make_run(first.video_id, started_at=later(5))
    only = make_run(second.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, first, old, new)
        seed_runs(uow, second, only)
    earlier = add(store, old, 0)
    batch = [make_artifact(new, KIND, start=10), make_artifact(only, KIND, start=20)]
    with store.unit_of_work() as uow:
        stored = [e.artifact_id for e in uow.artifacts.batch_create(batch)]
    assert flags(store) == {**dict.fromkeys(earlier, False), **dict.fromkeys(stored, True)}
