"""The run state machine (SPEC §4, §10 property 4), without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from eioku.domain.errors import Conflict, RunStateError
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, RunStatus, StageState, can_transition, check_transition

Q, R, C, F, X = (
    RunStatus.QUEUED,
    RunStatus.RUNNING,
    RunStatus.COMPLETED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
)
# The lifecycle queued -> running -> completed | failed | cancelled, where a run that has
# not started yet may also be cancelled, or fail (e.g. its video cannot be read). Only a
# running run can complete; nothing leaves a finished run; no state goes back.
VALID = {(Q, R), (Q, F), (Q, X), (R, C), (R, F), (R, X)}
TERMINAL = {C, F, X}
status_st = st.sampled_from(list(RunStatus))


@given(st.lists(status_st, max_size=20))
def test_random_transition_sequences_succeed_exactly_when_valid(targets: list[RunStatus]) -> None:
    state = RunStatus.QUEUED
    for target in targets:
        before = state
        if (state, target) in VALID:
            check_transition(state, target)
            state = target
        else:
            with pytest.raises(RunStateError):
                check_transition(state, target)
        assert not before.is_terminal or state is before


@given(st.sampled_from(sorted(TERMINAL)), status_st)
def test_terminal_states_absorb_every_transition(state: RunStatus, target: RunStatus) -> None:
    assert state.is_terminal
    assert not can_transition(state, target)
    with pytest.raises(RunStateError):
        check_transition(state, target)


@pytest.mark.parametrize("state", list(RunStatus))
def test_no_state_transitions_to_itself(state: RunStatus) -> None:
    assert not can_transition(state, state)


def test_completion_needs_a_running_run() -> None:
    assert not can_transition(Q, C)
    assert can_transition(R, C)


def test_no_transition_goes_back_to_queued() -> None:
    assert not any(can_transition(state, Q) for state in RunStatus)


def test_only_completed_failed_and_cancelled_are_terminal() -> None:
    assert {state for state in RunStatus if state.is_terminal} == TERMINAL


def test_run_state_error_is_a_conflict_naming_both_states() -> None:
    with pytest.raises(RunStateError) as caught:
        check_transition(C, R)
    assert isinstance(caught.value, Conflict)
    assert caught.value.details == {"from": "completed", "to": "running"}


def test_can_transition_agrees_with_check_transition_everywhere() -> None:
    for state in RunStatus:
        for target in RunStatus:
            assert can_transition(state, target) == ((state, target) in VALID)


def test_run_rejects_naive_start_time() -> None:
    with pytest.raises(ValidationError):
        Run(asset_id="v", pipeline_profile=ModelProfile.FAST, started_at=datetime(2026, 1, 1))


def test_run_starts_queued_with_a_fresh_id() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    first = Run(asset_id="v", pipeline_profile=ModelProfile.FAST, started_at=started)
    second = Run(asset_id="v", pipeline_profile=ModelProfile.FAST, started_at=started)
    assert first.status is RunStatus.QUEUED
    assert first.run_id != second.run_id


@pytest.mark.parametrize("progress", [-0.1, 1.1, float("nan")])
def test_stage_progress_must_be_between_0_and_1(progress: float) -> None:
    with pytest.raises(ValidationError):
        StageState(stage="ocr", progress=progress)
