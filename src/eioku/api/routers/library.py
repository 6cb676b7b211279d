"""``/v1/library/sources``: the folders the library is made of, and scanning them.

Sources added over HTTP must lie inside the configured library folders
(``EIOKU_LIBRARY_DIRS``), like files registered with ``POST /v1/videos``. A scan's runs
go through the application's dispatcher, like ``POST /v1/videos/{video_id}/runs``: queued
for workers on PostgreSQL, else executed by the local worker pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from eioku.api.deps import MAX_TEXT, TEXT_PATTERN, SettingsDep, StoreDep
from eioku.api.errors import error_responses
from eioku.api.models import Record, Timestamp
from eioku.api.routers.pipeline import DispatcherDep, inside_library
from eioku.domain.errors import InvalidInput
from eioku.domain.profiles import ModelProfile
from eioku.pipeline.library import (
    LibrarySource,
    ScanEntry,
    ScanReport,
    add_source,
    scan_source,
    source_stages,
)
from eioku.pipeline.stages import STAGE_NAMES

router = APIRouter(prefix="/v1/library", tags=["library"])

SourceId = Annotated[
    str,
    PathParam(description="Source id.", min_length=1, max_length=MAX_TEXT, pattern=TEXT_PATTERN),
]


class NewSource(BaseModel):
    """A folder to add to the library."""

    path: str = Field(
        min_length=1,
        max_length=4096,
        description="The folder on the server, inside one of the library folders "
        "(`EIOKU_LIBRARY_DIRS`); stored resolved.",
    )
    watch: bool = Field(default=False, description="Follow it while the server runs.")
    profile: ModelProfile = Field(
        default=ModelProfile.BALANCED, description="Profile its videos are run with."
    )
    stages: list[str] | None = Field(
        default=None,
        max_length=len(STAGE_NAMES),
        description=f"Stages to run (default: all): {', '.join(STAGE_NAMES)}.",
    )


class SourceOut(Record):
    """A library source."""

    source_id: str = Field(description="Source id.")
    path: str = Field(description="The folder (resolved).")
    watch: bool = Field(description="Whether it is followed while the server runs.")
    profile: ModelProfile = Field(description="Profile its videos are run with.")
    stages: list[str] = Field(description="Stages its videos get.")
    created_at: Timestamp = Field(description="When it was added.")
    last_scan_at: Timestamp | None = Field(description="When it was last scanned.")

    @classmethod
    def of(cls, source: LibrarySource) -> SourceOut:
        """The response record of a source (stages spelled out)."""
        data = source.model_dump()
        data["stages"] = list(source_stages(source))
        return cls.model_validate(data)


class SourceList(BaseModel):
    """Every library source."""

    sources: list[SourceOut] = Field(description="Sources, by folder.")


class ScanEntryOut(Record):
    """A file a scan did something about (or could not)."""

    path: str = Field(description="The file (for a moved video: its new path).")
    video_id: str | None = Field(description="The video, when there is one.")
    run_id: str | None = Field(description="The run queued for it, if any.")
    detail: str = Field(description="What happened, for people.")


class ScanReportOut(BaseModel):
    """What a scan found and did."""

    source_id: str = Field(description="The scanned source.")
    path: str = Field(description="Its folder.")
    new: list[ScanEntryOut] = Field(description="New files, registered (and scheduled).")
    changed: list[ScanEntryOut] = Field(description="Files whose content changed: rescheduled.")
    moved: list[ScanEntryOut] = Field(description="Videos found at a new path; nothing re-runs.")
    restored: list[ScanEntryOut] = Field(description="Missing videos whose file is back.")
    missing: list[ScanEntryOut] = Field(description="Videos whose file is gone (kept).")
    pending: list[ScanEntryOut] = Field(description="Videos never processed: now scheduled.")
    unchanged: int = Field(description="Files that did not change.")
    errors: list[ScanEntryOut] = Field(description="Files that could not be handled, and why.")

    @classmethod
    def of(cls, report: ScanReport) -> ScanReportOut:
        """The response record of a scan report."""

        def entries(found: list[ScanEntry]) -> list[ScanEntryOut]:
            return [ScanEntryOut.model_validate(entry) for entry in found]

        return cls(
            source_id=report.source_id,
            path=report.path,
            new=entries(report.new),
            changed=entries(report.changed),
            moved=entries(report.moved),
            restored=entries(report.restored),
            missing=entries(report.missing),
            pending=entries(report.pending),
            unchanged=report.unchanged,
            errors=entries(report.errors),
        )


@router.get("/sources", response_model=SourceList)
def list_sources(store: StoreDep) -> SourceList:
    """The library sources, by folder."""
    with store.unit_of_work(write=False) as uow:
        sources = uow.sources.list_all()
    return SourceList(sources=[SourceOut.of(source) for source in sources])


@router.post(
    "/sources",
    response_model=SourceOut,
    status_code=201,
    responses=error_responses(400, 404, 409),
)
def create_source(body: NewSource, store: StoreDep, settings: SettingsDep) -> SourceOut:
    """Add a folder (inside the library folders) as a source; scan it to register its videos."""
    if body.stages is not None and not body.stages:
        raise InvalidInput("stages must not be empty", details={"field": "stages"})
    folder = inside_library(settings, body.path, purpose="add sources from")
    source = add_source(
        store, folder, watch=body.watch, profile=body.profile, stages=tuple(body.stages or ())
    )
    return SourceOut.of(source)


@router.delete(
    "/sources/{source_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 404),
)
def delete_source(source_id: SourceId, store: StoreDep) -> Response:
    """Forget a source; its videos and their artifacts stay in the library."""
    with store.unit_of_work() as uow:
        uow.sources.remove(source_id)
    return Response(status_code=204)


@router.post(
    "/sources/{source_id}/scan",
    response_model=ScanReportOut,
    responses=error_responses(400, 404),
)
def scan(
    source_id: SourceId,
    store: StoreDep,
    dispatch: DispatcherDep,
    run: Annotated[bool, Query(description="Schedule runs (false: only register).")] = True,
) -> ScanReportOut:
    """Scan a source now: register new files, follow moved ones, mark deleted ones missing,
    and queue the stages new and changed videos need (poll `GET /v1/runs/{run_id}`)."""
    with store.unit_of_work(write=False) as uow:
        source = uow.sources.get(source_id)
    return ScanReportOut.of(scan_source(store, source, dispatch.submit if run else None))
