"""``POST /v1/videos/{video_id}/artifacts``: an external producer uploads a batch of artifacts.

All or nothing: every item is checked (envelope here, payload by the schema registry in
``batch_create``) before anything is written, and the optional new run is created in the
same transaction, so a rejected batch leaves no run behind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from eioku.api.deps import VideoId, WriteUnitOfWork
from eioku.api.errors import error_responses
from eioku.domain.envelope import ArtifactEnvelope, NonEmpty, parse_envelope
from eioku.domain.errors import EiokuError, InvalidInput, NotFound
from eioku.domain.ids import new_id
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run, RunStatus
from eioku.storage.artifacts import MAX_REPORTED_ERRORS
from eioku.storage.store import UnitOfWork

router = APIRouter(prefix="/v1", tags=["artifacts"])

MAX_UPLOAD_ITEMS = 50_000


class RunIn(BaseModel):
    """A run to create for the uploaded artifacts (status completed, finished now)."""

    model_config = ConfigDict(extra="forbid")

    run_id: NonEmpty | None = Field(None, description="Run id; generated when omitted.")
    pipeline_profile: ModelProfile = Field(description="Quality profile of the run.")
    started_at: AwareDatetime | None = Field(None, description="Start time; default now.")


class ArtifactIn(BaseModel):
    """An uploaded artifact envelope (documentation of the item shape; see SPEC §2)."""

    artifact_id: str | None = Field(None, description="Artifact id; generated when omitted.")
    asset_id: str | None = Field(None, description="Must be the video in the path, if given.")
    artifact_type: str = Field(description="Artifact type with a registered schema.")
    schema_version: int = Field(ge=1, description="Payload schema version.")
    span_start_ms: int = Field(ge=0, description="Start of the span in ms.")
    span_end_ms: int = Field(ge=0, description="End of the span in ms (>= start).")
    payload: dict[str, Any] = Field(description="Payload, validated by the type's schema.")
    producer: str = Field(description="Tool or model that made it.")
    producer_version: str = Field(description="Version of the producer.")
    model_profile: Literal["fast", "balanced", "high_quality"] | None = Field(
        None, description="Quality profile; defaults to the `run` block's profile, else required."
    )
    config_hash: str = Field(description="Hash of the producer configuration.")
    input_hash: str = Field(description="Content hash of the input media.")
    run_id: str | None = Field(
        None, description="An existing run of the video; omit it when `run` is given."
    )


UploadItem = Annotated[dict[str, Any], WithJsonSchema(ArtifactIn.model_json_schema())]


class UploadIn(BaseModel):
    """A batch of artifacts, optionally with the run that made them."""

    model_config = ConfigDict(extra="forbid")

    run: RunIn | None = Field(None, description="Create this run for the batch.")
    artifacts: list[UploadItem] = Field(
        min_length=1, max_length=MAX_UPLOAD_ITEMS, description="The artifact envelopes."
    )


class UploadOut(BaseModel):
    """What an upload stored."""

    run_id: str | None = Field(description="The run created for the batch, if `run` was given.")
    artifact_ids: list[str] = Field(description="Ids of the stored artifacts, in order.")


@router.post(
    "/videos/{video_id}/artifacts",
    status_code=201,
    response_model=UploadOut,
    responses=error_responses(400, 404, 409, 413),
)
def upload_artifacts(video_id: VideoId, body: UploadIn, uow: WriteUnitOfWork) -> UploadOut:
    """Store a batch from an external producer, validated by the schema registry.

    Any invalid item rejects the whole batch (and its run) with 400; ``details.items``
    lists the bad items (index, artifact_id, error, message, field errors). Envelopes are
    checked first; payloads are checked against their schemas once every envelope is valid.
    """
    return upload(uow, video_id, body)


def upload(uow: UnitOfWork, video_id: str, body: UploadIn) -> UploadOut:
    """Create the run (if any) and store the artifacts inside ``uow``'s transaction."""
    uow.videos.get(video_id)
    run = None if body.run is None else _new_run(video_id, body.run)
    envelopes = _envelopes(video_id, body.artifacts, run)
    if run is not None:
        uow.runs.create(run)
    try:
        stored = uow.artifacts.batch_create(envelopes)
    except NotFound as exc:  # a run named in the body: the request is wrong, not the URL
        raise InvalidInput(exc.message, details=exc.details) from exc
    return UploadOut(
        run_id=None if run is None else run.run_id,
        artifact_ids=[envelope.artifact_id for envelope in stored],
    )


def _new_run(video_id: str, spec: RunIn) -> Run:
    now = datetime.now(UTC)
    return Run(
        run_id=spec.run_id or new_id(),
        asset_id=video_id,
        pipeline_profile=spec.pipeline_profile,
        status=RunStatus.COMPLETED,
        started_at=spec.started_at or now,
        finished_at=now,
    )


def _envelopes(
    video_id: str, items: list[dict[str, Any]], run: Run | None
) -> list[ArtifactEnvelope]:
    """Every item as an envelope, or one InvalidInput listing the bad items."""
    envelopes: list[ArtifactEnvelope] = []
    failures: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            envelopes.append(_envelope(video_id, item, run))
        except EiokuError as exc:
            failures.append(_failure(index, item, exc))
            if len(failures) >= MAX_REPORTED_ERRORS:
                break
    if failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        message = f"item {first['index']}: {first['message']}{more}"
        raise InvalidInput(message, details={"items": failures})
    return envelopes


def _envelope(video_id: str, item: dict[str, Any], run: Run | None) -> ArtifactEnvelope:
    """One item with the defaults the path and the run give, checked as an envelope."""
    data = dict(item)
    if "created_at" in data:
        raise _field_error("created_at", "created_at is set by the store")
    if data.setdefault("asset_id", video_id) != video_id:
        raise _field_error("asset_id", f"asset_id must be the video in the path ({video_id})")
    if run is not None:
        if data.setdefault("run_id", run.run_id) != run.run_id:
            raise _field_error("run_id", "run_id must be omitted when the body creates a run")
        if data.get("model_profile") is None:
            data["model_profile"] = run.pipeline_profile.value
    elif data.get("run_id") is None:
        raise _field_error("run_id", "run_id is required when the body has no run")
    return parse_envelope(data)


def _field_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details={"errors": [{"field": field, "message": message}]})


def _failure(index: int, item: dict[str, Any], exc: EiokuError) -> dict[str, Any]:
    """An item's entry in ``details.items``: the same shape ``batch_create`` reports."""
    artifact_id = item.get("artifact_id")
    return {
        "index": index,
        "artifact_id": artifact_id if isinstance(artifact_id, str) else None,
        "error": exc.code,
        "message": exc.message,
        "errors": (exc.details or {}).get("errors"),
    }
