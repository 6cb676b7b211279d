"""Selection rules as pure functions (SPEC §5, §10 property 9), against a reference model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eioku.domain.errors import InvalidQuery
from eioku.domain.profiles import ModelProfile
from eioku.domain.selection import (
    STORABLE_MODES,
    RunOutput,
    SelectionMode,
    SelectionPolicy,
    make_policy,
    select_runs,
)
from tests.factories import EPOCH, profile_st

RANK = {ModelProfile.FAST: 0, ModelProfile.BALANCED: 1, ModelProfile.HIGH_QUALITY: 2}


def newest(outputs: list[RunOutput]) -> set[str]:
    """The most recently started run; equal start times go to the larger run id."""
    if not outputs:
        return set()
    last = max(output.started_at for output in outputs)
    return {max(output.run_id for output in outputs if output.started_at == last)}


def reference(policy: SelectionPolicy, outputs: list[RunOutput]) -> set[str]:
    """SPEC §5, read literally: only runs that produced the type take part."""
    produced = [output for output in outputs if output.artifact_count > 0]
    if policy.mode is SelectionMode.ALL:
        return {output.run_id for output in produced}
    if policy.mode is SelectionMode.PINNED:
        return {policy.pinned_run_id} if policy.pinned_run_id else set()
    if policy.mode is SelectionMode.LATEST:
        return newest(produced)
    if policy.mode is SelectionMode.PROFILE:
        return newest([o for o in produced if o.model_profile is policy.preferred_profile])
    assert policy.mode is SelectionMode.BEST_QUALITY
    if not produced:
        return set()
    top = max(RANK[output.model_profile] for output in produced)
    return newest([o for o in produced if RANK[o.model_profile] == top])


@st.composite
def run_outputs(draw: st.DrawFn) -> list[RunOutput]:
    count = draw(st.integers(min_value=0, max_value=6))
    ids = draw(st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=count, max_size=count))
    return [
        RunOutput(
            run_id=f"{index}-{suffix}",
            model_profile=draw(profile_st),
            # few distinct minutes, so equal start times happen often
            started_at=EPOCH + timedelta(minutes=draw(st.integers(0, 3))),
            artifact_count=draw(st.integers(min_value=0, max_value=3)),
        )
        for index, suffix in enumerate(ids)
    ]


def every_policy(outputs: list[RunOutput]) -> list[SelectionPolicy]:
    """Each concrete mode, with every profile and every pin (plus a pin to a stranger)."""
    pins = [output.run_id for output in outputs] + ["elsewhere"]
    return [
        SelectionPolicy(mode=SelectionMode.LATEST),
        SelectionPolicy(mode=SelectionMode.BEST_QUALITY),
        SelectionPolicy(mode=SelectionMode.ALL),
        *(SelectionPolicy(mode=SelectionMode.PROFILE, preferred_profile=p) for p in ModelProfile),
        *(SelectionPolicy(mode=SelectionMode.PINNED, pinned_run_id=run_id) for run_id in pins),
    ]


@given(run_outputs())
def test_select_runs_matches_the_spec_definition_for_every_policy(
    outputs: list[RunOutput],
) -> None:
    for policy in every_policy(outputs):
        assert set(select_runs(policy, outputs)) == reference(policy, outputs), policy


@given(run_outputs())
def test_every_mode_but_all_and_pinned_selects_at_most_one_run(outputs: list[RunOutput]) -> None:
    for policy in (
        SelectionPolicy(mode=SelectionMode.LATEST),
        SelectionPolicy(mode=SelectionMode.BEST_QUALITY),
        *(SelectionPolicy(mode=SelectionMode.PROFILE, preferred_profile=p) for p in ModelProfile),
    ):
        assert len(select_runs(policy, outputs)) <= 1


@given(run_outputs())
def test_selected_runs_are_always_runs_that_produced_the_type(outputs: list[RunOutput]) -> None:
    produced = {output.run_id for output in outputs if output.artifact_count > 0}
    for mode in (SelectionMode.LATEST, SelectionMode.BEST_QUALITY, SelectionMode.ALL):
        assert select_runs(SelectionPolicy(mode=mode), outputs) <= produced


def test_latest_ignores_a_newer_run_that_produced_nothing() -> None:
    old = RunOutput("old", ModelProfile.FAST, EPOCH, 2)
    empty = RunOutput("new", ModelProfile.FAST, EPOCH + timedelta(hours=1), 0)
    assert select_runs(SelectionPolicy(mode=SelectionMode.LATEST), [old, empty]) == {"old"}


def test_best_quality_prefers_rank_over_recency() -> None:
    good = RunOutput("good", ModelProfile.HIGH_QUALITY, EPOCH, 1)
    newer = RunOutput("newer", ModelProfile.BALANCED, EPOCH + timedelta(days=1), 1)
    assert select_runs(SelectionPolicy(mode=SelectionMode.BEST_QUALITY), [good, newer]) == {"good"}


def test_profile_with_no_run_of_that_profile_selects_nothing() -> None:
    fast = RunOutput("fast", ModelProfile.FAST, EPOCH, 1)
    policy = SelectionPolicy(mode=SelectionMode.PROFILE, preferred_profile=ModelProfile.BALANCED)
    assert select_runs(policy, [fast]) == frozenset()


def test_default_must_be_resolved_before_selecting() -> None:
    with pytest.raises(InvalidQuery):
        select_runs(SelectionPolicy(), [RunOutput("r", ModelProfile.FAST, EPOCH, 1)])


@pytest.mark.parametrize(
    ("mode", "kwargs"),
    [
        ("profile", {}),
        ("pinned", {}),
        ("newest", {}),
        ("", {}),
        ("profile", {"profile": "ultra"}),
        ("pinned", {"run_id": ""}),
        ("pinned", {"run_id": "r\x00"}),
    ],
)
def test_make_policy_turns_bad_client_input_into_invalid_query(
    mode: str, kwargs: dict[str, str]
) -> None:
    with pytest.raises(InvalidQuery):
        make_policy(mode, **kwargs)


def test_make_policy_builds_complete_policies() -> None:
    assert make_policy("profile", profile="fast").preferred_profile is ModelProfile.FAST
    assert make_policy("pinned", run_id="r1").pinned_run_id == "r1"
    assert make_policy("pinned", artifact_id="a1").pinned_artifact_id == "a1"
    assert make_policy().mode is SelectionMode.DEFAULT


def test_default_and_all_are_read_time_choices_only() -> None:
    assert SelectionMode.DEFAULT not in STORABLE_MODES
    assert SelectionMode.ALL not in STORABLE_MODES
