"""Runs: one pipeline execution over one video; a small state machine guards its lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eioku.domain.envelope import NonEmpty, require_aware
from eioku.domain.errors import RunStateError
from eioku.domain.ids import new_id
from eioku.domain.profiles import ModelProfile


class RunStatus(StrEnum):
    """Lifecycle of a run: queued -> running -> completed | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True once the run can change no more."""
        return self in _TERMINAL


class StageStatus(StrEnum):
    """Lifecycle of one stage inside a run."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


_TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})

_ALLOWED: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}


def can_transition(current: RunStatus, target: RunStatus) -> bool:
    """Whether the run state machine allows ``current -> target``."""
    return target in _ALLOWED[current]


def check_transition(current: RunStatus, target: RunStatus) -> None:
    """Raise RunStateError unless ``current -> target`` is allowed."""
    if not can_transition(current, target):
        raise RunStateError(
            f"run cannot go from {current.value} to {target.value}",
            details={"from": current.value, "to": target.value},
        )


def check_requeue(current: RunStatus) -> None:
    """Raise RunStateError unless a run in ``current`` may go back to the queue.

    Only recovery does this (its worker died, lost the database or was stopped): a
    running run returns to ``queued`` so another worker takes it; the state machine above
    never allows it otherwise.
    """
    if current not in (RunStatus.RUNNING, RunStatus.QUEUED):
        raise RunStateError(
            f"run cannot go from {current.value} back to queued",
            details={"from": current.value, "to": RunStatus.QUEUED.value},
        )


class StageState(BaseModel):
    """Status and progress of one stage of a run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: NonEmpty
    status: StageStatus = StageStatus.PENDING
    progress: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    input_hash: str | None = Field(default=None, description="Hash of what the stage read")
    config_hash: str | None = Field(default=None, description="Hash of the stage's settings")
    artifact_count: Annotated[int, Field(ge=0)] | None = None

    @field_validator("started_at", "finished_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else require_aware(value)


class Run(BaseModel):
    """One execution of the pipeline over one video with one profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: NonEmpty = Field(default_factory=new_id)
    asset_id: NonEmpty
    pipeline_profile: ModelProfile
    status: RunStatus = RunStatus.QUEUED
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    stages: tuple[StageState, ...] = ()

    @field_validator("started_at", "finished_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else require_aware(value)
