"""Export: stream records in a fixed order, one read transaction, artifacts page by page."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import InvalidQuery
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.storage.artifacts import SpanFilter
from eioku.storage.exchange.records import (
    RECORD_KINDS,
    Counts,
    Record,
    SelectionRecord,
    dumps_line,
    envelope_record,
)
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import artifact_selections

EVERY_RUN = SelectionPolicy(mode=SelectionMode.ALL)


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """What to export.

    ``selection`` None exports the artifacts of every run (a full backup); a policy exports
    only the artifacts a reader would see under it. Videos and runs of the exported videos
    are always exported whole, so the artifacts' references hold in the target database.
    """

    video_id: str | None = None
    artifact_type: str | None = None
    selection: SelectionPolicy | None = None


def export_records(
    store: Store, write: Callable[[bytes], object], filters: ExportFilter = ExportFilter()
) -> Counts:
    """Stream the records ``filters`` selects to ``write``, one line at a time.

    One read transaction gives a consistent snapshot; artifacts are read page by page, so
    memory does not grow with their number.

    Returns:
        How many records of each kind were written.

    Raises:
        NotFound: the filter names a video that does not exist.
        InvalidQuery: the selection policy cannot be applied.
    """
    policy = filters.selection
    if policy is not None and policy.mode is SelectionMode.PINNED and filters.video_id is None:
        raise InvalidQuery("a pinned selection applies to one video: give the video")
    counts = dict.fromkeys(RECORD_KINDS, 0)
    with store.unit_of_work(write=False) as uow:
        for kind, record in _records(uow, filters):
            write(dumps_line(kind, record))
            counts[kind] += 1
    return counts


def _records(uow: UnitOfWork, filters: ExportFilter) -> Iterator[tuple[str, Record]]:
    if filters.video_id is not None:
        video_ids = [uow.videos.get(filters.video_id).video_id]
    else:
        video_ids = sorted(uow.videos.all_ids())
    for video_id in video_ids:
        yield "video", uow.videos.get(video_id).model_dump()
    for video_id in video_ids:
        runs = uow.runs.list_for_video(video_id)
        for run in sorted(runs, key=lambda r: (r.started_at, r.run_id)):
            yield "run", run.model_dump()
    for video_id in video_ids:
        for envelope in _artifacts(uow, video_id, filters):
            yield "artifact", envelope_record(envelope)
    for selection in _selections(uow, set(video_ids), filters):
        yield "selection", selection.model_dump()


def _artifacts(uow: UnitOfWork, video_id: str, filters: ExportFilter) -> Iterator[ArtifactEnvelope]:
    """One video's artifacts, type by type: each type is one index-ordered scan."""
    if filters.artifact_type is not None:
        types = [filters.artifact_type]
    else:
        types = sorted(uow.selections.outputs_by_type(video_id))
    policy = filters.selection or EVERY_RUN
    for artifact_type in types:
        wanted = SpanFilter(artifact_type=artifact_type)
        yield from _ids_ordered(uow.artifacts.iter_by_asset(video_id, wanted, selection=policy))


def _ids_ordered(envelopes: Iterable[ArtifactEnvelope]) -> Iterator[ArtifactEnvelope]:
    """Re-sort each group of equal span_start_ms by artifact_id in Python.

    The database orders ids by its collation, which may differ between engines; groups of
    equal starts are small, so memory stays bounded.
    """
    group: list[ArtifactEnvelope] = []
    for envelope in envelopes:
        if group and envelope.span_start_ms != group[0].span_start_ms:
            yield from sorted(group, key=lambda e: e.artifact_id)
            group = []
        group.append(envelope)
    yield from sorted(group, key=lambda e: e.artifact_id)


def _selections(
    uow: UnitOfWork, video_ids: set[str], filters: ExportFilter
) -> Iterator[SelectionRecord]:
    columns = [artifact_selections.c[name] for name in SelectionRecord.model_fields]
    query = select(*columns)
    if filters.video_id is not None:
        query = query.where(artifact_selections.c.asset_id == filters.video_id)
    if filters.artifact_type is not None:
        query = query.where(artifact_selections.c.artifact_type == filters.artifact_type)
    rows = [SelectionRecord.model_validate(row._asdict()) for row in uow.connection.execute(query)]
    for record in sorted(rows, key=lambda r: (r.asset_id, r.artifact_type)):
        if record.asset_id in video_ids and _pin_exported(uow, record, filters):
            yield record


def _pin_exported(uow: UnitOfWork, record: SelectionRecord, filters: ExportFilter) -> bool:
    """Whether a policy's pinned artifact is in the export, so the file stays importable."""
    if record.pinned_artifact_id is None or filters.selection in (None, EVERY_RUN):
        return True
    pinned = uow.artifacts.get_by_id(record.pinned_artifact_id)
    chosen = uow.selections.resolve(record.asset_id, record.artifact_type, filters.selection)
    return pinned.run_id in chosen
