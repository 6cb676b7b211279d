"""Selection policies: which run's artifacts a reader sees for one (video, artifact type).

Resolution is a pure function over the few runs that produced a type for a video; storage
then filters by the resolved run ids inside its index lookups (SPEC §5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from eioku.domain.envelope import NonEmpty
from eioku.domain.errors import InvalidQuery
from eioku.domain.profiles import ModelProfile


class SelectionMode(StrEnum):
    """How a reader picks runs. ``default`` and ``all`` are read-time choices only."""

    DEFAULT = "default"
    LATEST = "latest"
    PROFILE = "profile"
    PINNED = "pinned"
    BEST_QUALITY = "best_quality"
    ALL = "all"


STORABLE_MODES = frozenset(
    {SelectionMode.LATEST, SelectionMode.PROFILE, SelectionMode.PINNED, SelectionMode.BEST_QUALITY}
)


class SelectionPolicy(BaseModel):
    """A selection request: a stored policy, or the one a reader asks for on a query.

    ``pinned_artifact_id`` pins the run that produced that artifact; storage resolves it
    to ``pinned_run_id`` before resolution, so :func:`select_runs` only sees run ids.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: SelectionMode = SelectionMode.DEFAULT
    preferred_profile: ModelProfile | None = None
    pinned_run_id: NonEmpty | None = None
    pinned_artifact_id: NonEmpty | None = None

    @model_validator(mode="after")
    def _complete(self) -> SelectionPolicy:
        if self.mode is SelectionMode.PROFILE and self.preferred_profile is None:
            raise ValueError("selection mode 'profile' needs a profile")
        if self.mode is SelectionMode.PINNED and not (
            self.pinned_run_id or self.pinned_artifact_id
        ):
            raise ValueError("selection mode 'pinned' needs a run id or an artifact id")
        return self


def make_policy(
    mode: str | SelectionMode = SelectionMode.DEFAULT,
    *,
    profile: str | None = None,
    run_id: str | None = None,
    artifact_id: str | None = None,
) -> SelectionPolicy:
    """Build a policy from loose client input, raising InvalidQuery on any inconsistency."""
    try:
        return SelectionPolicy(
            mode=SelectionMode(mode),
            preferred_profile=None if profile is None else ModelProfile(profile),
            pinned_run_id=run_id,
            pinned_artifact_id=artifact_id,
        )
    except ValueError as exc:
        raise InvalidQuery(f"invalid selection policy: {_first_line(exc)}") from exc


def _first_line(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):  # its str() appends "[type=..., input_value=...]"
        return str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
    text = str(exc)
    if "Value error, " in text:
        text = text.split("Value error, ", 1)[1]
    return text.splitlines()[0]


@dataclass(frozen=True, slots=True)
class RunOutput:
    """What one run produced for one (video, type): enough to resolve any policy."""

    run_id: str
    model_profile: ModelProfile
    started_at: datetime
    artifact_count: int


def _recency(output: RunOutput) -> tuple[datetime, str]:
    return (output.started_at, output.run_id)


def select_runs(policy: SelectionPolicy, outputs: Iterable[RunOutput]) -> frozenset[str]:
    """Return the run ids whose artifacts a reader sees under ``policy`` (SPEC §5).

    ``policy.mode`` must already be concrete (not ``default``): the stored policy or
    ``latest`` replaces ``default`` before this is called. Ties on start time go to the
    larger run id so the answer is deterministic.
    """
    candidates = [output for output in outputs if output.artifact_count > 0]
    mode = policy.mode
    if mode is SelectionMode.ALL:
        return frozenset(output.run_id for output in candidates)
    if mode is SelectionMode.PINNED:
        return frozenset({policy.pinned_run_id} if policy.pinned_run_id else ())
    if mode is SelectionMode.PROFILE:
        candidates = [o for o in candidates if o.model_profile is policy.preferred_profile]
    elif mode is SelectionMode.BEST_QUALITY and candidates:
        best = max(output.model_profile.rank for output in candidates)
        candidates = [o for o in candidates if o.model_profile.rank == best]
    elif mode is SelectionMode.DEFAULT:
        raise InvalidQuery("selection 'default' must be resolved to a stored policy first")
    if not candidates:
        return frozenset()
    return frozenset({max(candidates, key=_recency).run_id})
