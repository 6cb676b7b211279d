"""Reading artifacts: a video's artifacts under a selection policy, one artifact with its
provenance, provenance queries across the library, and the profiles a video has."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from eioku.api.deps import (
    ArtifactId,
    Cursor,
    ReadUnitOfWork,
    SelectionParams,
    VideoId,
    decode_cursor,
    encode_cursor,
    millis_query,
    text_query,
)
from eioku.api.errors import error_responses
from eioku.api.models import EnvelopeOut, RunOut, Timestamp
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus
from eioku.domain.selection import RunOutput
from eioku.storage.artifacts import SpanFilter

router = APIRouter(prefix="/v1", tags=["artifacts"])

MAX_PAGE = 1000


class ArtifactPage(BaseModel):
    """One page of a video's artifacts, ordered by (span_start_ms, artifact_id)."""

    video_id: str = Field(description="The video.")
    artifacts: list[EnvelopeOut] = Field(description="Artifacts of this page.")
    next_cursor: str | None = Field(description="Cursor of the next page; null at the end.")


class Provenance(BaseModel):
    """Everything that says how an artifact was made."""

    run: RunOut = Field(description="The run that made it, with its stages.")
    producer: str = Field(description="Tool or model that made it.")
    producer_version: str = Field(description="Version of the producer.")
    model_profile: ModelProfile = Field(description="Quality profile used.")
    config_hash: str = Field(description="Hash of the producer configuration used.")
    input_hash: str = Field(description="Content hash of the input media.")


class ArtifactDetail(EnvelopeOut):
    """An artifact with its full provenance."""

    provenance: Provenance = Field(description="How the artifact was made.")


class ProvenancePage(BaseModel):
    """Artifacts made by a producer / version / configuration, in artifact_id order."""

    artifacts: list[EnvelopeOut] = Field(description="Matching artifacts.")
    has_more: bool = Field(description="Whether more artifacts match than `limit`.")


class ProfileRun(BaseModel):
    """One run's contribution to a profile."""

    run_id: str = Field(description="Run id.")
    started_at: Timestamp = Field(description="When the run started.")
    status: RunStatus = Field(description="Lifecycle state of the run.")
    artifact_count: int = Field(description="Artifacts of the type this run produced.")


class ProfileEntry(BaseModel):
    """A profile present for (video, type)."""

    profile: ModelProfile = Field(description="Model profile.")
    artifact_count: int = Field(description="Artifacts of the type in this profile.")
    runs: list[ProfileRun] = Field(description="Runs that produced them, newest first.")


class VideoProfiles(BaseModel):
    """The profiles a video has for one artifact type, fast < balanced < high_quality."""

    video_id: str = Field(description="The video.")
    artifact_type: str = Field(description="The artifact type.")
    profiles: list[ProfileEntry] = Field(description="Profiles present, lowest rank first.")


PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")]


@router.get(
    "/videos/{video_id}/artifacts",
    response_model=ArtifactPage,
    responses=error_responses(400, 404),
)
def list_artifacts(
    video_id: VideoId,
    *,
    uow: ReadUnitOfWork,
    selection: SelectionParams,
    artifact_type: Annotated[str | None, text_query("Artifact type.", alias="type")] = None,
    from_ms: Annotated[int | None, millis_query("Artifacts ending after this time (ms).")] = None,
    to_ms: Annotated[int | None, millis_query("Artifacts starting before this time (ms).")] = None,
    run_id: Annotated[str | None, text_query("Only this run (overrides selection).")] = None,
    producer: Annotated[str | None, text_query("Only this producer.")] = None,
    limit: PageSize = 100,
    cursor: Cursor = None,
) -> ArtifactPage:
    """The video's artifacts under the selection policy; ``from_ms``/``to_ms`` overlap."""
    uow.videos.get(video_id)
    after = decode_cursor(cursor, int, str) if cursor is not None else None
    filters = SpanFilter(artifact_type, from_ms, to_ms, run_id, producer)
    found = uow.artifacts.get_by_asset(
        video_id,
        filters,
        selection=selection,
        limit=limit + 1,
        after=None if after is None else (after[0], after[1]),
    )
    page = found[:limit]
    last = page[-1] if len(found) > limit else None
    return ArtifactPage(
        video_id=video_id,
        artifacts=[EnvelopeOut.model_validate(envelope) for envelope in page],
        next_cursor=None if last is None else encode_cursor(last.span_start_ms, last.artifact_id),
    )


@router.get(
    "/artifacts/{artifact_id}",
    response_model=ArtifactDetail,
    responses=error_responses(400, 404),
)
def get_artifact(artifact_id: ArtifactId, uow: ReadUnitOfWork) -> ArtifactDetail:
    """One artifact with its provenance: the run (and stages) that made it, producer, hashes."""
    envelope = uow.artifacts.get_by_id(artifact_id)
    run = uow.runs.get(envelope.run_id)
    provenance = Provenance(
        run=RunOut.model_validate(run),
        producer=envelope.producer,
        producer_version=envelope.producer_version,
        model_profile=envelope.model_profile,
        config_hash=envelope.config_hash,
        input_hash=envelope.input_hash,
    )
    return ArtifactDetail(
        **EnvelopeOut.model_validate(envelope).model_dump(), provenance=provenance
    )


@router.get("/artifacts", response_model=ProvenancePage, responses=error_responses(400))
def find_by_provenance(
    uow: ReadUnitOfWork,
    producer: Annotated[str | None, text_query("Producer name.")] = None,
    producer_version: Annotated[str | None, text_query("Producer version.")] = None,
    config_hash: Annotated[str | None, text_query("Configuration hash.")] = None,
    limit: PageSize = 100,
) -> ProvenancePage:
    """Artifacts across the library by how they were made; give at least one filter."""
    found = uow.artifacts.by_provenance(
        producer=producer,
        producer_version=producer_version,
        config_hash=config_hash,
        limit=limit + 1,
    )
    return ProvenancePage(
        artifacts=[EnvelopeOut.model_validate(envelope) for envelope in found[:limit]],
        has_more=len(found) > limit,
    )


@router.get(
    "/videos/{video_id}/profiles",
    response_model=VideoProfiles,
    responses=error_responses(400, 404),
)
def video_profiles(
    video_id: VideoId,
    uow: ReadUnitOfWork,
    artifact_type: Annotated[str, text_query("Artifact type.")],
) -> VideoProfiles:
    """Which profiles a video has for a type, with artifact counts and the runs behind them."""
    uow.videos.get(video_id)
    outputs = uow.selections.outputs(video_id, artifact_type)
    statuses = {run.run_id: run.status for run in uow.runs.list_for_video(video_id)}
    by_profile: dict[ModelProfile, list[RunOutput]] = defaultdict(list)
    for output in outputs:
        if output.artifact_count > 0:
            by_profile[output.model_profile].append(output)
    profiles = [
        _profile_entry(profile, by_profile[profile], statuses)
        for profile in sorted(by_profile, key=lambda p: p.rank)
    ]
    return VideoProfiles(video_id=video_id, artifact_type=artifact_type, profiles=profiles)


def _profile_entry(
    profile: ModelProfile, outputs: list[RunOutput], statuses: dict[str, RunStatus]
) -> ProfileEntry:
    newest_first = sorted(outputs, key=lambda o: (o.started_at, o.run_id), reverse=True)
    runs = [
        ProfileRun(
            run_id=output.run_id,
            started_at=output.started_at,
            status=statuses[output.run_id],
            artifact_count=output.artifact_count,
        )
        for output in newest_first
    ]
    return ProfileEntry(
        profile=profile, artifact_count=sum(o.artifact_count for o in outputs), runs=runs
    )
