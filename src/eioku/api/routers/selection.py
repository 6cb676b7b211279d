"""The stored selection policy of a (video, artifact type): read, write, clear (SPEC §5).

Records use the ``artifact_selections`` column names. Clearing is idempotent: DELETE
answers 204 whether or not a policy was stored (404 only for an unknown video).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from eioku.api.deps import (
    ArtifactType,
    ReadUnitOfWork,
    StoreDep,
    VideoId,
    WriteUnitOfWork,
    build_policy,
)
from eioku.api.errors import error_responses
from eioku.domain.envelope import NonEmpty
from eioku.domain.errors import SchemaNotFoundError
from eioku.domain.profiles import ModelProfile
from eioku.domain.selection import SelectionMode
from eioku.storage.selections import DEFAULT_POLICY
from eioku.storage.store import UnitOfWork

router = APIRouter(prefix="/v1", tags=["selection"])

PATH = "/videos/{video_id}/selection/{artifact_type}"


class SelectionIn(BaseModel):
    """A policy to store: latest, profile, pinned or best_quality."""

    model_config = ConfigDict(extra="forbid")

    selection_mode: SelectionMode = Field(description="latest, profile, pinned or best_quality.")
    preferred_profile: ModelProfile | None = Field(None, description="For mode `profile`.")
    pinned_run_id: NonEmpty | None = Field(None, description="For mode `pinned`.")
    pinned_artifact_id: NonEmpty | None = Field(
        None, description="For mode `pinned`: pin the run that made this artifact."
    )


class SelectionOut(BaseModel):
    """The policy readers of (video, type) get, and the runs it selects now."""

    asset_id: str = Field(description="The video.")
    artifact_type: str = Field(description="The artifact type.")
    stored: bool = Field(description="Whether a policy is stored (else the default applies).")
    selection_mode: SelectionMode = Field(description="The stored mode, or `default`.")
    preferred_profile: ModelProfile | None = Field(description="Stored profile, if any.")
    pinned_run_id: str | None = Field(description="Stored pinned run, if any.")
    pinned_artifact_id: str | None = Field(description="Stored pinned artifact, if any.")
    effective: SelectionMode = Field(description="The mode readers get: stored, else latest.")
    selected_run_ids: list[str] = Field(description="Runs whose artifacts readers see now.")


def _view(uow: UnitOfWork, video_id: str, artifact_type: str) -> SelectionOut:
    uow.videos.get(video_id)
    stored = uow.selections.get(video_id, artifact_type)
    policy = stored or DEFAULT_POLICY
    return SelectionOut(
        asset_id=video_id,
        artifact_type=artifact_type,
        stored=stored is not None,
        selection_mode=SelectionMode.DEFAULT if stored is None else stored.mode,
        preferred_profile=policy.preferred_profile,
        pinned_run_id=policy.pinned_run_id,
        pinned_artifact_id=policy.pinned_artifact_id,
        effective=policy.mode,
        selected_run_ids=sorted(uow.selections.resolve(video_id, artifact_type)),
    )


@router.get(PATH, response_model=SelectionOut, responses=error_responses(400, 404))
def get_selection(
    video_id: VideoId, artifact_type: ArtifactType, uow: ReadUnitOfWork
) -> SelectionOut:
    """The stored policy, or `{"selection_mode": "default", "effective": "latest"}`."""
    return _view(uow, video_id, artifact_type)


@router.put(PATH, response_model=SelectionOut, responses=error_responses(400, 404))
def put_selection(
    video_id: VideoId,
    artifact_type: ArtifactType,
    body: SelectionIn,
    uow: WriteUnitOfWork,
    store: StoreDep,
) -> SelectionOut:
    """Store a policy; it is checked first (a pinned run or artifact must exist: else 400)."""
    uow.videos.get(video_id)
    if not store.registry.versions(artifact_type):
        raise SchemaNotFoundError(
            f"no schema is registered for artifact type {artifact_type}",
            details={"artifact_type": artifact_type},
        )
    policy = build_policy(
        body.selection_mode, body.preferred_profile, body.pinned_run_id, body.pinned_artifact_id
    )
    uow.selections.set(video_id, artifact_type, policy)
    return _view(uow, video_id, artifact_type)


@router.delete(PATH, status_code=204, response_class=Response, responses=error_responses(400, 404))
def delete_selection(video_id: VideoId, artifact_type: ArtifactType, uow: WriteUnitOfWork) -> None:
    """Clear the stored policy so readers get the default (latest); idempotent."""
    uow.videos.get(video_id)
    uow.selections.delete(video_id, artifact_type)
