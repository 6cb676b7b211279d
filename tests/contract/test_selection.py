"""Selection policies end to end on every engine (SPEC §5; §10 properties 9 and 14).

The reference model below is written from the SPEC §5 table, not from
``eioku.domain.selection``. Where §5 is silent (two runs started at the same instant) it
uses the documented deterministic rule: the larger run_id counts as the more recent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run
from eioku.domain.selection import SelectionMode, SelectionPolicy, make_policy
from eioku.storage.artifacts import SpanFilter
from eioku.storage.store import Store
from tests.conftest import clean
from tests.factories import later, make_artifact, make_run, make_video, seed_runs, store_settings

TYPES = ("object.detection", "scene", "transcript.segment")
QUALITY = [ModelProfile.FAST, ModelProfile.BALANCED, ModelProfile.HIGH_QUALITY]
M = SelectionMode
for_store = store_settings()


@dataclass
class World:
    """What the test stored, as plain Python: the reference model's input."""

    videos: list[str]
    runs: list[Run]
    alive: list[ArtifactEnvelope]
    policies: dict[tuple[str, str], SelectionPolicy] = field(default_factory=dict)

    def run(self, run_id: str) -> Run:
        return next(r for r in self.runs if r.run_id == run_id)

    def producers(self, video: str, kind: str) -> list[Run]:
        """Runs that (still) have at least one artifact of ``kind`` for ``video``."""
        made = {e.run_id for e in self.alive if e.asset_id == video and e.artifact_type == kind}
        return [r for r in self.runs if r.run_id in made]


def most_recent(candidates: list[Run]) -> set[str]:
    if not candidates:
        return set()
    return {max(candidates, key=lambda r: (r.started_at, r.run_id)).run_id}


def reference_runs(world: World, video: str, kind: str, requested: SelectionPolicy) -> set[str]:
    """SPEC §5: the runs whose artifacts a reader sees for (video, kind)."""
    policy = requested
    if policy.mode is M.DEFAULT:
        policy = world.policies.get((video, kind), SelectionPolicy(mode=M.LATEST))
    produced = world.producers(video, kind)
    if policy.mode is M.ALL:
        return {r.run_id for r in produced}
    if policy.mode is M.LATEST:
        return most_recent(produced)
    if policy.mode is M.PROFILE:
        return most_recent([r for r in produced if r.pipeline_profile is policy.preferred_profile])
    if policy.mode is M.BEST_QUALITY:
        if not produced:
            return set()
        best = max(QUALITY.index(r.pipeline_profile) for r in produced)
        return most_recent([r for r in produced if QUALITY.index(r.pipeline_profile) == best])
    assert policy.mode is M.PINNED
    if policy.pinned_artifact_id is not None:
        (pinned,) = [e for e in world.alive if e.artifact_id == policy.pinned_artifact_id]
        return {pinned.run_id}
    assert policy.pinned_run_id is not None
    return {policy.pinned_run_id}


def reference_read(
    world: World, video: str, kind: str | None, requested: SelectionPolicy
) -> list[str]:
    kinds = TYPES if kind is None else (kind,)
    chosen = {k: reference_runs(world, video, k, requested) for k in kinds}
    picked = [
        e
        for e in world.alive
        if e.asset_id == video and e.artifact_type in chosen and e.run_id in chosen[e.artifact_type]
    ]
    return [e.artifact_id for e in sorted(picked, key=lambda e: (e.span_start_ms, e.artifact_id))]


@st.composite
def policies(draw: st.DrawFn, world: World, video: str, kind: str, *, stored: bool) -> Any:
    """A valid policy for (video, kind); stored ones never use the read-only modes."""
    own_runs = [r.run_id for r in world.runs if r.asset_id == video]
    modes = [M.LATEST, M.PROFILE, M.BEST_QUALITY] + ([M.PINNED] if own_runs else [])
    if not stored:
        modes += [M.DEFAULT, M.DEFAULT, M.ALL]
    mode = draw(st.sampled_from(modes))
    if mode is M.PROFILE:
        return SelectionPolicy(mode=mode, preferred_profile=draw(st.sampled_from(QUALITY)))
    if mode is M.PINNED:
        own_artifacts = [
            e.artifact_id for e in world.alive if e.asset_id == video and e.artifact_type == kind
        ]
        if own_artifacts and draw(st.booleans()):
            return SelectionPolicy(
                mode=mode, pinned_artifact_id=draw(st.sampled_from(own_artifacts))
            )
        return SelectionPolicy(mode=mode, pinned_run_id=draw(st.sampled_from(own_runs)))
    return SelectionPolicy(mode=mode)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Run], list[tuple[int, str, int]]]:
    """Runs over two videos (few start times, so ties happen) and what each produced."""
    runs = [
        make_run(
            f"video-{draw(st.integers(0, 1))}",
            profile=draw(st.sampled_from(QUALITY)),
            started_at=later(draw(st.integers(0, 3))),
            run_id=f"run-{index}",
        )
        for index in range(draw(st.integers(1, 6)))
    ]
    outputs = draw(
        st.lists(
            st.tuples(st.integers(0, len(runs) - 1), st.sampled_from(TYPES), st.integers(0, 30)),
            max_size=20,
        )
    )
    return runs, outputs


@for_store
@given(data=st.data())
def test_reads_return_exactly_the_artifacts_of_the_runs_the_policy_picks(
    store: Store, data: st.DataObject
) -> None:
    clean(store)
    runs, outputs = data.draw(worlds())
    video_ids = ["video-0", "video-1", "video-without-runs"]
    stored: list[ArtifactEnvelope] = []
    with store.unit_of_work() as uow:
        for video_id in video_ids:
            seed_runs(uow, make_video(video_id), *[r for r in runs if r.asset_id == video_id])
        envelopes = [
            make_artifact(runs[i], kind, start=start, artifact_id=f"a-{n:03d}")
            for n, (i, kind, start) in enumerate(outputs)
        ]
        stored = uow.artifacts.batch_create(envelopes)
    world = World(video_ids, runs, list(stored))
    # stored policies for some (video, type) pairs
    with store.unit_of_work() as uow:
        for video_id in video_ids[:2]:
            for kind in TYPES:
                if data.draw(st.booleans()):
                    policy = data.draw(policies(world, video_id, kind, stored=True))
                    uow.selections.set(video_id, kind, policy)
                    world.policies[(video_id, kind)] = policy
    # then some artifacts go; a policy pinned to a deleted artifact goes with it
    doomed = (
        data.draw(st.sets(st.sampled_from([e.artifact_id for e in stored]))) if stored else set()
    )
    with store.unit_of_work() as uow:
        for artifact_id in sorted(doomed):
            uow.artifacts.delete(artifact_id)
    world.alive = [e for e in stored if e.artifact_id not in doomed]
    world.policies = {
        key: p for key, p in world.policies.items() if p.pinned_artifact_id not in doomed
    }
    with store.unit_of_work(write=False) as uow:
        for video_id in video_ids:
            for _ in range(3):
                kind = data.draw(st.none() | st.sampled_from(TYPES))
                requested = data.draw(policies(world, video_id, kind or TYPES[0], stored=False))
                if kind is None and requested.pinned_artifact_id is not None:
                    kind = TYPES[0]  # an artifact pin names the run for its own type
                got = uow.artifacts.get_by_asset(
                    video_id, SpanFilter(artifact_type=kind), selection=requested
                )
                expected = reference_read(world, video_id, kind, requested)
                assert [e.artifact_id for e in got] == expected, (kind, requested)
            for kind in TYPES:
                assert uow.selections.get(video_id, kind) == world.policies.get((video_id, kind))


# -- property 14: profiles never overwrite each other -----------------------------------


@for_store
@given(
    profiles=st.lists(st.sampled_from(QUALITY), min_size=2, max_size=6),
    count=st.integers(min_value=1, max_value=4),
)
def test_runs_of_different_profiles_keep_all_their_artifacts(
    store: Store, profiles: list[ModelProfile], count: int
) -> None:
    clean(store)
    video = make_video()
    runs = [
        make_run(video.video_id, profile=p, started_at=later(i)) for i, p in enumerate(profiles)
    ]
    with store.unit_of_work() as uow:
        seed_runs(uow, video)
    made: dict[str, list[ArtifactEnvelope]] = {}
    for run in runs:  # one run after another, the same spans every time
        with store.unit_of_work() as uow:
            uow.runs.create(run)
            made[run.run_id] = uow.artifacts.batch_create(
                [make_artifact(run, "object.detection", start=i * 100) for i in range(count)]
            )
    everything = sorted(
        (e for batch in made.values() for e in batch),
        key=lambda e: (e.span_start_ms, e.artifact_id),
    )
    with store.unit_of_work(write=False) as uow:
        read = uow.artifacts.get_by_asset
        assert read(video.video_id, selection=SelectionPolicy(mode=M.ALL)) == everything
        for run in runs:
            assert read(video.video_id, SpanFilter(run_id=run.run_id)) == made[run.run_id]
        for profile in QUALITY:
            of_profile = [r for r in runs if r.pipeline_profile is profile]
            policy = SelectionPolicy(mode=M.PROFILE, preferred_profile=profile)
            expected = made[of_profile[-1].run_id] if of_profile else []
            assert read(video.video_id, selection=policy) == expected
        assert read(video.video_id) == made[runs[-1].run_id]


# -- stored policies -----------------------------------------------------------------------


def two_videos(store: Store) -> tuple[Run, Run, ArtifactEnvelope]:
    mine, theirs = make_video(), make_video()
    my_run, their_run = make_run(mine.video_id), make_run(theirs.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, mine, my_run)
        seed_runs(uow, theirs, their_run)
        scene = uow.artifacts.create(make_artifact(my_run, "scene"))
        uow.artifacts.create(make_artifact(their_run, "scene"))
    return my_run, their_run, scene


def test_a_policy_is_stored_read_back_and_deleted(store: Store) -> None:
    run, _, _ = two_videos(store)
    policy = SelectionPolicy(mode=M.PROFILE, preferred_profile=ModelProfile.FAST)
    with store.unit_of_work() as uow:
        uow.selections.set(run.asset_id, "scene", policy)
    with store.unit_of_work() as uow:
        assert uow.selections.get(run.asset_id, "scene") == policy
        assert uow.selections.get(run.asset_id, "ocr.text") is None
        assert uow.artifacts.get_by_asset(run.asset_id) == []  # no fast run
        assert uow.selections.delete(run.asset_id, "scene") is True
        assert uow.selections.delete(run.asset_id, "scene") is False
        assert len(uow.artifacts.get_by_asset(run.asset_id)) == 1  # back to latest


def test_setting_a_policy_again_replaces_it(store: Store) -> None:
    run, _, scene = two_videos(store)
    with store.unit_of_work() as uow:
        uow.selections.set(run.asset_id, "scene", SelectionPolicy(mode=M.BEST_QUALITY))
        pinned = SelectionPolicy(mode=M.PINNED, pinned_artifact_id=scene.artifact_id)
        uow.selections.set(run.asset_id, "scene", pinned)
        assert uow.selections.get(run.asset_id, "scene") == pinned


@pytest.mark.parametrize(
    "policy",
    [
        SelectionPolicy(mode=M.PINNED, pinned_run_id="no-such-run"),
        SelectionPolicy(mode=M.PINNED, pinned_artifact_id="no-such-artifact"),
        SelectionPolicy(mode=M.ALL),
        SelectionPolicy(mode=M.DEFAULT),
    ],
)
def test_storing_an_invalid_policy_is_an_invalid_query(
    store: Store, policy: SelectionPolicy
) -> None:
    run, _, _ = two_videos(store)
    with pytest.raises(InvalidQuery), store.unit_of_work() as uow:
        uow.selections.set(run.asset_id, "scene", policy)
    with store.unit_of_work() as uow:
        assert uow.selections.get(run.asset_id, "scene") is None


def test_pinning_a_run_or_artifact_of_another_video_is_an_invalid_query(store: Store) -> None:
    mine, theirs, _ = two_videos(store)
    with store.unit_of_work() as uow:
        (their_scene,) = uow.artifacts.get_by_asset(theirs.asset_id)
    for policy in (
        SelectionPolicy(mode=M.PINNED, pinned_run_id=theirs.run_id),
        SelectionPolicy(mode=M.PINNED, pinned_artifact_id=their_scene.artifact_id),
    ):
        with pytest.raises(InvalidQuery), store.unit_of_work() as uow:
            uow.selections.set(mine.asset_id, "scene", policy)
        with pytest.raises(InvalidQuery), store.unit_of_work() as uow:
            uow.artifacts.get_by_asset(mine.asset_id, SpanFilter("scene"), selection=policy)


def test_pinning_an_artifact_of_another_type_is_an_invalid_query(store: Store) -> None:
    run, _, scene = two_videos(store)
    policy = SelectionPolicy(mode=M.PINNED, pinned_artifact_id=scene.artifact_id)
    with pytest.raises(InvalidQuery), store.unit_of_work() as uow:
        uow.selections.set(run.asset_id, "object.detection", policy)


def test_pinned_run_and_artifact_that_disagree_are_an_invalid_query(store: Store) -> None:
    run, _, scene = two_videos(store)
    other = make_run(run.asset_id, started_at=later(5))
    with store.unit_of_work() as uow:
        uow.runs.create(other)
    policy = SelectionPolicy(
        mode=M.PINNED, pinned_run_id=other.run_id, pinned_artifact_id=scene.artifact_id
    )
    with pytest.raises(InvalidQuery), store.unit_of_work() as uow:
        uow.selections.set(run.asset_id, "scene", policy)


@pytest.mark.parametrize(
    ("mode", "kwargs"), [("profile", {}), ("pinned", {}), ("profile", {"profile": "ultra"})]
)
def test_incomplete_client_policies_are_invalid_queries(mode: str, kwargs: dict[str, str]) -> None:
    with pytest.raises(InvalidQuery):
        make_policy(mode, **kwargs)


def test_storing_a_policy_for_an_unknown_video_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound), store.unit_of_work() as uow:
        uow.selections.set("no-such-video", "scene", SelectionPolicy(mode=M.LATEST))


def test_reading_with_a_pin_to_a_missing_run_is_an_invalid_query(store: Store) -> None:
    run, _, _ = two_videos(store)
    policy = SelectionPolicy(mode=M.PINNED, pinned_run_id="no-such-run")
    with pytest.raises(InvalidQuery), store.unit_of_work(write=False) as uow:
        uow.artifacts.get_by_asset(run.asset_id, SpanFilter("scene"), selection=policy)
    with pytest.raises(InvalidQuery), store.unit_of_work(write=False) as uow:
        uow.artifacts.get_by_asset(run.asset_id, selection=policy)


def test_a_newer_run_replaces_the_older_in_default_reads_but_both_stay_stored(
    store: Store,
) -> None:
    run, _, old = two_videos(store)
    rerun = make_run(run.asset_id, profile=ModelProfile.FAST, started_at=later(10))
    with store.unit_of_work() as uow:
        uow.runs.create(rerun)
        new = uow.artifacts.create(make_artifact(rerun, "scene"))
    with store.unit_of_work(write=False) as uow:
        read = uow.artifacts.get_by_asset
        assert read(run.asset_id) == [new]
        assert read(run.asset_id, selection=SelectionPolicy(mode=M.BEST_QUALITY)) == [old]
        everything = read(run.asset_id, selection=SelectionPolicy(mode=M.ALL))
        assert {e.artifact_id for e in everything} == {old.artifact_id, new.artifact_id}
