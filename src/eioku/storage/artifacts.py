"""Artifact repository: validated all-or-nothing writes and selection-aware reads (SPEC §2–§5)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, RowMapping, and_, delete, or_, select, tuple_

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import (
    Conflict,
    EiokuError,
    InvalidInput,
    InvalidQuery,
    NotFound,
    SchemaValidationError,
)
from eioku.domain.schemas.registry import SchemaRegistry
from eioku.domain.selection import SelectionPolicy
from eioku.storage.backend import Backend
from eioku.storage.clock import utcnow
from eioku.storage.projections import ProjectionWriter
from eioku.storage.selections import SelectionRepository
from eioku.storage.tables import artifacts, runs

COLUMNS = [column.name for column in artifacts.columns]
_COLUMN_VALUES = attrgetter(*COLUMNS)
_PAYLOAD = COLUMNS.index("payload")
_MODEL_PROFILE = COLUMNS.index("model_profile")
# JSON's escape of a NUL; in \\u0000 the backslash itself is escaped: text, not a NUL.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
MAX_REPORTED_ERRORS = 100
PAGE = 5_000


@dataclass(frozen=True, slots=True)
class SpanFilter:
    """Which artifacts of a video a read wants.

    ``from_ms``/``to_ms`` select by overlap: start < to_ms and end > from_ms (SPEC §10.15).
    """

    artifact_type: str | None = None
    from_ms: int | None = None
    to_ms: int | None = None
    run_id: str | None = None
    producer: str | None = None


class ArtifactRepository:
    """Reads and writes artifacts on one connection, keeping projections in step."""

    def __init__(
        self,
        conn: Connection,
        backend: Backend,
        registry: SchemaRegistry,
        selections: SelectionRepository,
        projections: ProjectionWriter,
    ) -> None:
        self._conn = conn
        self._backend = backend
        self._registry = registry
        self._selections = selections
        self._projections = projections

    # -- writes ---------------------------------------------------------------------------

    def create(self, envelope: ArtifactEnvelope) -> ArtifactEnvelope:
        """Store one artifact (a batch of one)."""
        return self.batch_create([envelope])[0]

    def batch_create(self, envelopes: Sequence[ArtifactEnvelope]) -> list[ArtifactEnvelope]:
        """Validate every artifact, then store them all with their projection rows.

        Nothing is written unless everything is valid; the caller's unit of work makes the
        writes one transaction. Returns the stored envelopes (normalised payloads,
        created_at set).

        Raises:
            SchemaNotFoundError / SchemaValidationError: a payload is invalid; ``details``
                lists each failing item by index and artifact_id.
            NotFound: an artifact names a run that does not exist for its video.
            Conflict: an artifact_id is repeated in the batch or already stored.
        """
        stored, rows = self._prepare(envelopes)
        self._check_runs(stored)
        # A savepoint, so a Conflict raised by the database (an artifact_id already stored)
        # leaves no partial batch behind, the caller's transaction stays usable on both
        # engines, and the duplicate ids can be looked up and named.
        try:
            with self._conn.begin_nested():
                self._backend.bulk_insert(self._conn, artifacts, COLUMNS, rows)
                self._projections.add(stored)
        except Conflict as exc:
            raise self._duplicates(stored) or exc from exc
        return stored

    def _prepare(
        self, envelopes: Sequence[ArtifactEnvelope]
    ) -> tuple[list[ArtifactEnvelope], list[tuple[Any, ...]]]:
        now = utcnow()
        stored: list[ArtifactEnvelope] = []
        rows: list[tuple[Any, ...]] = []
        failures: list[tuple[int, ArtifactEnvelope, EiokuError]] = []
        seen: set[str] = set()
        for index, envelope in enumerate(envelopes):
            try:
                if envelope.artifact_id in seen:
                    raise Conflict(f"artifact_id {envelope.artifact_id} repeated in the batch")
                seen.add(envelope.artifact_id)
                payload = self._registry.validate(
                    envelope.artifact_type, envelope.schema_version, envelope.payload
                )
                text = payload_json(payload)
            except EiokuError as exc:
                failures.append((index, envelope, exc))
                if len(failures) >= MAX_REPORTED_ERRORS:
                    break
                continue
            final = envelope.model_copy(
                update={"payload": payload, "created_at": envelope.created_at or now}
            )
            stored.append(final)
            rows.append(_row(final, text))
        if failures:
            raise _batch_error(failures, len(envelopes))
        return stored, rows

    def _check_runs(self, envelopes: Sequence[ArtifactEnvelope]) -> None:
        wanted = {(e.run_id, e.asset_id) for e in envelopes}
        found: set[tuple[str, str]] = set()
        run_ids = sorted({run_id for run_id, _ in wanted})
        for start in range(0, len(run_ids), 500):
            chunk = run_ids[start : start + 500]
            query = select(runs.c.run_id, runs.c.asset_id).where(runs.c.run_id.in_(chunk))
            found.update((row.run_id, row.asset_id) for row in self._conn.execute(query))
        missing = sorted(wanted - found)
        if missing:
            run_id, asset_id = missing[0]
            raise NotFound(
                f"run {run_id} does not exist for video {asset_id}",
                details={"run_id": run_id, "asset_id": asset_id, "missing": len(missing)},
            )

    def _duplicates(self, envelopes: Sequence[ArtifactEnvelope]) -> Conflict | None:
        """A Conflict naming the artifact ids of ``envelopes`` that are already stored."""
        ids = [e.artifact_id for e in envelopes]
        taken: list[str] = []
        for start in range(0, len(ids), 500):
            query = select(artifacts.c.artifact_id).where(
                artifacts.c.artifact_id.in_(ids[start : start + 500])
            )
            taken += self._conn.execute(query).scalars()
        if not taken:
            return None
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        return Conflict(
            f"artifact_id {taken[0]} already exists{more}",
            details={"artifact_ids": sorted(taken)[:MAX_REPORTED_ERRORS]},
        )

    def delete(self, artifact_id: str) -> None:
        """Delete one artifact; its projection rows go with it."""
        envelope = self.get_by_id(artifact_id)
        self._conn.execute(delete(artifacts).where(artifacts.c.artifact_id == artifact_id))
        self._projections.removed([envelope])

    # -- reads ----------------------------------------------------------------------------

    def get_by_id(self, artifact_id: str) -> ArtifactEnvelope:
        """The artifact, or NotFound."""
        query = select(artifacts).where(artifacts.c.artifact_id == artifact_id)
        row = self._conn.execute(query).first()
        if row is None:
            raise NotFound(
                f"artifact {artifact_id} not found", details={"artifact_id": artifact_id}
            )
        return self._envelope(row._mapping)

    def get_by_asset(
        self,
        asset_id: str,
        filters: SpanFilter = SpanFilter(),
        *,
        selection: SelectionPolicy | None = None,
        limit: int | None = None,
        after: tuple[int, str] | None = None,
    ) -> list[ArtifactEnvelope]:
        """A video's artifacts under the selection policy, ordered by (start, artifact_id).

        ``after`` is a keyset cursor: the (span_start_ms, artifact_id) of the last row seen.
        """
        if limit is not None and limit <= 0:
            raise InvalidQuery("limit must be positive")
        conditions = self._conditions(asset_id, filters, selection)
        if conditions is None:
            return []
        key = tuple_(artifacts.c.span_start_ms, artifacts.c.artifact_id)
        if after is not None:
            conditions.append(key > tuple_(*after))
        query = (
            select(artifacts)
            .where(*conditions)
            .order_by(artifacts.c.span_start_ms, artifacts.c.artifact_id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [self._envelope(row._mapping) for row in self._conn.execute(query)]

    def get_by_span(
        self,
        asset_id: str,
        from_ms: int,
        to_ms: int,
        *,
        artifact_type: str | None = None,
        selection: SelectionPolicy | None = None,
    ) -> list[ArtifactEnvelope]:
        """Artifacts overlapping [from_ms, to_ms): start < to_ms and end > from_ms."""
        filters = SpanFilter(artifact_type=artifact_type, from_ms=from_ms, to_ms=to_ms)
        return self.get_by_asset(asset_id, filters, selection=selection)

    def iter_by_asset(
        self,
        asset_id: str,
        filters: SpanFilter = SpanFilter(),
        *,
        selection: SelectionPolicy | None = None,
    ) -> Iterator[ArtifactEnvelope]:
        """Stream :meth:`get_by_asset` page by page."""
        after: tuple[int, str] | None = None
        while True:
            page = self.get_by_asset(
                asset_id, filters, selection=selection, limit=PAGE, after=after
            )
            yield from page
            if len(page) < PAGE:
                return
            after = (page[-1].span_start_ms, page[-1].artifact_id)

    def iter_by_type(self, artifact_type: str) -> Iterator[list[ArtifactEnvelope]]:
        """Every stored artifact of one type, in pages ordered by artifact_id (for rebuilds)."""
        after = ""
        while True:
            query = (
                select(artifacts)
                .where(artifacts.c.artifact_type == artifact_type, artifacts.c.artifact_id > after)
                .order_by(artifacts.c.artifact_id)
                .limit(PAGE)
            )
            page = [self._envelope(row._mapping) for row in self._conn.execute(query)]
            if page:
                yield page
            if len(page) < PAGE:
                return
            after = page[-1].artifact_id

    def by_provenance(
        self,
        *,
        producer: str | None = None,
        producer_version: str | None = None,
        config_hash: str | None = None,
        limit: int = 1000,
    ) -> list[ArtifactEnvelope]:
        """Artifacts made by a producer / producer version / configuration (req. 12.4)."""
        conditions: list[ColumnElement[bool]] = []
        if producer is not None:
            conditions.append(artifacts.c.producer == producer)
        if producer_version is not None:
            conditions.append(artifacts.c.producer_version == producer_version)
        if config_hash is not None:
            conditions.append(artifacts.c.config_hash == config_hash)
        if not conditions:
            raise InvalidQuery("give at least one of producer, producer_version, config_hash")
        query = select(artifacts).where(*conditions).order_by(artifacts.c.artifact_id).limit(limit)
        return [self._envelope(row._mapping) for row in self._conn.execute(query)]

    def _conditions(
        self, asset_id: str, filters: SpanFilter, selection: SelectionPolicy | None
    ) -> list[ColumnElement[bool]] | None:
        """WHERE terms for a video read, selection included; None when nothing can match."""
        if (
            filters.from_ms is not None
            and filters.to_ms is not None
            and filters.from_ms > filters.to_ms
        ):
            raise InvalidQuery("from_ms must not be after to_ms")
        conditions: list[ColumnElement[bool]] = [artifacts.c.asset_id == asset_id]
        if filters.artifact_type is not None:
            conditions.append(artifacts.c.artifact_type == filters.artifact_type)
        if filters.to_ms is not None:
            conditions.append(artifacts.c.span_start_ms < filters.to_ms)
        if filters.from_ms is not None:
            conditions.append(artifacts.c.span_end_ms > filters.from_ms)
        if filters.producer is not None:
            conditions.append(artifacts.c.producer == filters.producer)
        if filters.run_id is not None:
            conditions.append(artifacts.c.run_id == filters.run_id)
            return conditions
        types = None if filters.artifact_type is None else [filters.artifact_type]
        outputs = self._selections.outputs_by_type(asset_id, types)
        chosen = [
            and_(artifacts.c.artifact_type == kind, artifacts.c.run_id.in_(sorted(run_ids)))
            for kind, found in sorted(outputs.items())
            if (run_ids := self._selections.resolve_outputs(asset_id, kind, found, selection))
        ]
        if not chosen:
            if selection is not None and filters.artifact_type is not None:
                # still validate an explicit pin on a type with no outputs
                self._selections.resolve_outputs(asset_id, filters.artifact_type, [], selection)
            return None
        conditions.append(or_(*chosen))
        return conditions

    def _envelope(self, row: RowMapping) -> ArtifactEnvelope:
        data = {name: row[name] for name in COLUMNS}
        if isinstance(data["payload"], str | bytes):
            data["payload"] = orjson.loads(data["payload"])
        data["payload"] = self._registry.validate(
            data["artifact_type"], data["schema_version"], data["payload"]
        )
        return ArtifactEnvelope.model_validate(data)


def payload_json(payload: dict[str, Any]) -> str:
    """Serialise a validated payload; text no engine stores faithfully is rejected here."""
    try:
        text = orjson.dumps(payload).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise SchemaValidationError(f"payload cannot be stored as JSON: {exc}") from exc
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise SchemaValidationError("payload text must not contain NUL characters")
    return text


def _row(envelope: ArtifactEnvelope, payload_text: str) -> tuple[Any, ...]:
    # Attribute reads, not model_dump: this runs once per stored artifact (bench/).
    values = list(_COLUMN_VALUES(envelope))
    values[_PAYLOAD] = payload_text
    values[_MODEL_PROFILE] = envelope.model_profile.value
    return tuple(values)


def _batch_error(
    failures: list[tuple[int, ArtifactEnvelope, EiokuError]], total: int
) -> EiokuError:
    index, envelope, first = failures[0]
    items = [
        {
            "index": i,
            "artifact_id": e.artifact_id,
            "error": exc.code,
            "message": exc.message,
            "errors": (exc.details or {}).get("errors"),
        }
        for i, e, exc in failures
    ]
    message = f"item {index} (artifact {envelope.artifact_id}): {first.message}"
    if len(failures) > 1:
        message += f" (and {len(failures) - 1} more of {total} items)"
    error_type = type(first) if isinstance(first, InvalidInput | Conflict) else InvalidInput
    return error_type(message, details={"items": items})
