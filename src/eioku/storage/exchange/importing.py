"""Import: check every line, then write everything in one unit of work, or nothing.

The file is read twice, the second time only for its artifacts, so memory holds the
(few) videos, runs and policies plus one artifact batch, never the whole file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from eioku.domain.envelope import ArtifactEnvelope, field_errors, parse_envelope
from eioku.domain.errors import Conflict, EiokuError, InvalidInput, InvalidQuery, NotFound
from eioku.domain.runs import Run
from eioku.domain.selection import STORABLE_MODES, SelectionMode
from eioku.domain.videos import Video
from eioku.storage.exchange.records import (
    RECORD_KINDS,
    Counts,
    SelectionRecord,
    first_field_error,
    line_error,
)
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import artifacts

BATCH = 10_000
M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class _Plan:
    """What the first pass found: every record but the artifacts, which are only counted."""

    videos: list[tuple[int, Video]] = field(default_factory=list)
    runs: list[tuple[int, Run]] = field(default_factory=list)
    selections: list[tuple[int, SelectionRecord]] = field(default_factory=list)
    artifacts: int = 0

    def counts(self) -> Counts:
        return {
            "video": len(self.videos),
            "run": len(self.runs),
            "artifact": self.artifacts,
            "selection": len(self.selections),
        }


def import_records(store: Store, source: IO[bytes]) -> Counts:
    """Import an exchange file: every record, or nothing at the first bad line.

    A pipe is first copied to a temporary file so it can be read twice. Artifacts are
    written in batches of :data:`BATCH` through ``batch_create``, all inside one
    transaction.

    Returns:
        How many records of each kind were imported.

    Raises:
        EiokuError: InvalidInput or a more specific kind; the message starts ``line N:``
            (and names the field when one is to blame); ``details`` has ``line``, ``field``.
    """
    with _seekable(source) as stream:
        start = stream.tell()
        plan = _check(stream)
        stream.seek(start)
        with store.unit_of_work() as uow:
            _apply(uow, plan, stream)
    return plan.counts()


def _seekable(source: IO[bytes]) -> AbstractContextManager[IO[bytes]]:
    return nullcontext(source) if source.seekable() else _spooled(source)


@contextmanager
def _spooled(source: IO[bytes]) -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile() as copy:
        shutil.copyfileobj(source, copy)
        copy.seek(0)
        yield copy


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line number, record kind, fields) for each non-blank line."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            data = orjson.loads(raw.strip())
        except orjson.JSONDecodeError as exc:
            message = f"invalid JSON: {exc.msg} at column {exc.colno}"
            raise line_error(number, None, message) from exc
        if not isinstance(data, dict):
            raise line_error(number, None, f"expected a JSON object, got {type(data).__name__}")
        kind = data.pop("record", None)
        if kind not in RECORD_KINDS:
            expected = ", ".join(RECORD_KINDS)
            raise line_error(number, "record", f"expected one of {expected}, got {kind!r}")
        yield number, kind, data


# -- first pass ----------------------------------------------------------------------------


def _check(stream: IO[bytes]) -> _Plan:
    plan = _Plan()
    seen: set[tuple[str, str]] = set()
    for number, kind, data in _lines(stream):
        if kind == "artifact":
            _envelope(number, data)
            plan.artifacts += 1
        elif kind == "video":
            video = _validated(number, Video, data)
            _once(number, seen, ("video_id", video.video_id), ("path", video.path))
            plan.videos.append((number, video))
        elif kind == "run":
            run = _validated(number, Run, data)
            _once(number, seen, ("run_id", run.run_id))
            plan.runs.append((number, run))
        else:
            selection = _selection(number, data)
            key = f"{selection.asset_id}/{selection.artifact_type}"
            _once(number, seen, ("artifact_type", key))
            plan.selections.append((number, selection))
    return plan


def _once(number: int, seen: set[tuple[str, str]], *keys: tuple[str, str]) -> None:
    """Reject a second record with the same identity (caught here with its line number)."""
    for name, value in keys:
        if (name, value) in seen:
            raise line_error(number, name, f"{value} appears twice in the file", Conflict)
        seen.add((name, value))


def _validated(number: int, model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise first_field_error(number, field_errors(exc)) from exc


def _envelope(number: int, data: dict[str, Any]) -> ArtifactEnvelope:
    try:
        return parse_envelope(data)
    except InvalidInput as exc:
        raise first_field_error(number, (exc.details or {})["errors"]) from exc


def _selection(number: int, data: dict[str, Any]) -> SelectionRecord:
    record = _validated(number, SelectionRecord, data)
    if record.selection_mode not in STORABLE_MODES:
        message = f"mode {record.selection_mode.value!r} cannot be stored"
        raise line_error(number, "selection_mode", message, InvalidQuery)
    try:
        record.policy()
    except InvalidQuery as exc:
        name = "preferred_profile" if record.selection_mode is SelectionMode.PROFILE else None
        raise line_error(number, name or "pinned_run_id", exc.message, InvalidQuery) from exc
    return record


# -- second pass ---------------------------------------------------------------------------


def _apply(uow: UnitOfWork, plan: _Plan, stream: IO[bytes]) -> None:
    for number, video in plan.videos:
        if uow.videos.exists(video.video_id):
            message = f"video {video.video_id} already exists"
            raise line_error(number, "video_id", message, Conflict)
        with _at_line(number, {Conflict: "path"}):
            uow.videos.add(video)
    for number, run in plan.runs:
        with _at_line(number, {NotFound: "asset_id", Conflict: "run_id", InvalidInput: "stages"}):
            uow.runs.create(run)
    _apply_artifacts(uow, stream)
    for number, record in plan.selections:
        pin = "pinned_artifact_id" if record.pinned_artifact_id else "pinned_run_id"
        with _at_line(number, {NotFound: "asset_id", InvalidQuery: pin}):
            uow.selections.set(record.asset_id, record.artifact_type, record.policy())


@contextmanager
def _at_line(number: int, fields: Mapping[type[EiokuError], str]) -> Iterator[None]:
    """Re-raise a store error with the line number and the field its kind points at."""
    try:
        yield
    except EiokuError as exc:
        name = next((f for kind, f in fields.items() if isinstance(exc, kind)), None)
        raise line_error(number, name, exc.message, type(exc)) from exc


def _apply_artifacts(uow: UnitOfWork, stream: IO[bytes]) -> None:
    batch: list[ArtifactEnvelope] = []
    numbers: list[int] = []
    for number, kind, data in _lines(stream):
        if kind != "artifact":
            continue
        batch.append(_envelope(number, data))
        numbers.append(number)
        if len(batch) >= BATCH:
            _write_batch(uow, batch, numbers)
            batch, numbers = [], []
    if batch:
        _write_batch(uow, batch, numbers)


def _write_batch(uow: UnitOfWork, batch: Sequence[ArtifactEnvelope], numbers: list[int]) -> None:
    """batch_create inside a savepoint, so a failed insert can still be diagnosed."""
    try:
        with uow.connection.begin_nested():
            uow.artifacts.batch_create(batch)
    except EiokuError as exc:
        raise _batch_line_error(uow, exc, batch, numbers) from exc


def _batch_line_error(
    uow: UnitOfWork, exc: EiokuError, batch: Sequence[ArtifactEnvelope], numbers: list[int]
) -> EiokuError:
    """Map a batch_create error back to the line of the artifact that caused it."""
    details = exc.details or {}
    if details.get("items"):
        return _item_error(exc, details["items"][0], batch, numbers)
    if isinstance(exc, NotFound) and "run_id" in details:
        key = (details["run_id"], details["asset_id"])
        index = next((i for i, e in enumerate(batch) if (e.run_id, e.asset_id) == key), 0)
        return line_error(numbers[index], "run_id", exc.message, NotFound)
    if isinstance(exc, Conflict):
        stored = _stored_ids(uow, [e.artifact_id for e in batch])
        for index, envelope in enumerate(batch):
            if envelope.artifact_id in stored:
                message = f"artifact {envelope.artifact_id} already exists"
                return line_error(numbers[index], "artifact_id", message, Conflict)
    return exc


def _item_error(
    exc: EiokuError, item: dict[str, Any], batch: Sequence[ArtifactEnvelope], numbers: list[int]
) -> EiokuError:
    index = int(item["index"])
    if item.get("errors"):
        error = item["errors"][0]
        name = "payload" if error["field"] == "(root)" else f"payload.{error['field']}"
        return line_error(numbers[index], name, str(error["message"]), type(exc))
    if isinstance(exc, Conflict):
        message = f"artifact {batch[index].artifact_id} appears twice in the file"
        return line_error(numbers[index], "artifact_id", message, Conflict)
    return line_error(numbers[index], None, str(item["message"]), type(exc))


def _stored_ids(uow: UnitOfWork, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        query = select(artifacts.c.artifact_id).where(
            artifacts.c.artifact_id.in_(ids[start : start + 500])
        )
        found.update(uow.connection.execute(query).scalars())
    return found
