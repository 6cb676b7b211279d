"""The write path: ``batch_create`` through the real store against the engine's raw bulk path.

Every path writes the library into its own freshly migrated schema. ``batch_create`` is timed
from the first unit of work to the last commit (validation, serialisation, run check, bulk
insert, projection rows and run_outputs). The raw paths are timed around the driver calls
alone: SQLite ``executemany`` and PostgreSQL ``COPY``, each batch one transaction, with every
value prepared before timing starts:

- raw: the artifacts table only, payloads already serialised and nothing derived;
- raw, same rows: exactly the rows batch_create stores for each batch (artifact rows,
  projection rows with their timeline_at and selected flag, run_outputs counts), derived in
  Python beforehand. batch_create against it is Eioku's own overhead (validation, selection
  placement, flag maintenance), apart from the database work the projection indexes cost.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy import select

from bench.cpu import CpuClock, process_time
from bench.scratch import libpq, scratch_database, sqlite_path
from bench.space import Space, measure
from bench.workload import Library, raw_rows
from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.schemas.registry import SchemaRegistry
from eioku.projections import Projection, ProjectionRow, projections_for
from eioku.storage.artifacts import COLUMNS
from eioku.storage.projections import projection_names
from eioku.storage.store import Store
from eioku.storage.tables import artifacts, run_outputs

BATCH_CREATE = "batch_create"
RAW_PATH = {"sqlite": "raw executemany", "postgresql": "raw COPY"}
RAW_SAME_PATH = {"sqlite": "raw executemany, same rows", "postgresql": "raw COPY, same rows"}
# Per-connection settings of the raw SQLite path: the ones the store's SQLite backend uses.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "foreign_keys=ON",
    "synchronous=NORMAL",
    "busy_timeout=30000",
    "temp_store=MEMORY",
)
# run_outputs as ProjectionWriter counts it: keyed by run, type and profile, counts added.
RUN_OUTPUT_COLUMNS = ("run_id", "asset_id", "artifact_type", "model_profile", "artifact_count")
RUN_OUTPUT_KEYS = ("run_id", "artifact_type", "model_profile")
Row = tuple[Any, ...]
Timed = AbstractContextManager[object]


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed write of a whole library into one fresh database."""

    engine: str
    artifacts: int
    path: str
    batch_size: int
    seconds: float
    cpu_seconds: float | None
    space: Space

    @property
    def rows_per_second(self) -> float:
        """Artifacts stored per second of the timed section."""
        return self.artifacts / self.seconds if self.seconds > 0 else float("inf")

    @property
    def rows_per_cpu_second(self) -> float | None:
        """Artifacts stored per CPU second (client and local server), if it could be read."""
        if self.cpu_seconds is None or self.cpu_seconds <= 0:
            return None
        return self.artifacts / self.cpu_seconds

    @property
    def batches(self) -> int:
        """Units of work (transactions) the write took."""
        return -(-self.artifacts // self.batch_size)


@dataclass(frozen=True, slots=True)
class Write:
    """One statement of a raw batch: a bulk insert, or an upsert adding to counters.

    Attributes:
        conflict: the upsert's key columns; empty for a plain bulk insert (COPY on
            PostgreSQL).
        add: columns whose new value is added to the stored one on conflict; every other
            non-key column takes the new value (as ``Backend.upsert`` builds it).
    """

    table: str
    columns: tuple[str, ...]
    rows: list[Row]
    conflict: tuple[str, ...] = ()
    add: tuple[str, ...] = ()


# The statements of one transaction, in the order they run.
Batch = list[Write]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A library with the rows of both raw paths, all built before any timing starts.

    Attributes:
        rows: the artifacts-table rows, in library order.
        same_rows: per batch of ``batch_size`` artifacts, every row batch_create stores.
    """

    library: Library
    rows: list[Row]
    same_rows: list[Batch]
    batch_size: int
    build_seconds: float
    rows_seconds: float
    same_rows_seconds: float


def prepare(library: Library, build_seconds: float, batch_size: int) -> Prepared:
    """Serialise the library's rows for the raw paths once, for every engine."""
    started = time.perf_counter()
    rows = raw_rows(library.envelopes, datetime.now(UTC))
    serialised = time.perf_counter()
    same = same_rows(library, rows, batch_size)
    derived = time.perf_counter()
    return Prepared(
        library, rows, same, batch_size, build_seconds, serialised - started, derived - serialised
    )


def same_rows(library: Library, rows: Sequence[Row], batch_size: int) -> list[Batch]:
    """For each batch of ``batch_size`` artifacts, the rows batch_create stores for it.

    ``rows`` are the library's artifacts-table rows. Projection rows come from
    ``Projection.row`` with the video's ``timeline_at``; every row is selected because each
    video has exactly one run, which is therefore its latest (the default policy). The
    workload's payloads are already in the form validation returns; ``--verify`` checks
    that the result equals a batch_create database.
    """
    runs_per_video = Counter(run.asset_id for run in library.runs)
    if any(count != 1 for count in runs_per_video.values()):
        raise ValueError("raw, same rows needs one run per video: then every row is selected")
    timeline = {video.video_id: video.timeline_at for video in library.videos}
    feeds: dict[tuple[str, int], tuple[Projection, ...]] = {}
    batches: list[Batch] = []
    for start in range(0, len(rows), batch_size):
        envelopes = library.envelopes[start : start + batch_size]
        writes = [
            Write(artifacts.name, tuple(COLUMNS), list(rows[start : start + batch_size])),
            _run_outputs(envelopes),
        ]
        by_table: dict[str, list[ProjectionRow]] = defaultdict(list)
        for envelope in envelopes:
            key = (envelope.artifact_type, envelope.schema_version)
            if (wanted := feeds.get(key)) is None:
                wanted = feeds[key] = projections_for(*key)
            for projection in wanted:
                row = projection.row(envelope)
                row["timeline_at"] = timeline[envelope.asset_id]
                row["selected"] = True
                by_table[projection.table].append(row)
        for table, found in by_table.items():
            columns = tuple(found[0])
            writes.append(Write(table, columns, [tuple(row[c] for c in columns) for row in found]))
        batches.append(writes)
    return batches


def _run_outputs(envelopes: Sequence[ArtifactEnvelope]) -> Write:
    counts = Counter(
        (e.run_id, e.asset_id, e.artifact_type, e.model_profile.value) for e in envelopes
    )
    rows = [(*key, count) for key, count in sorted(counts.items())]
    return Write(
        run_outputs.name, RUN_OUTPUT_COLUMNS, rows, RUN_OUTPUT_KEYS, add=("artifact_count",)
    )


def run_batch_create(
    engine: str,
    prepared: Prepared,
    registry: SchemaRegistry,
    batch_size: int,
    *,
    profile: Callable[[str], None] | None = None,
) -> Measurement:
    """Store every envelope through Store / UnitOfWork / ArtifactRepository.batch_create.

    Args:
        profile: when given, the timed section runs under cProfile and this receives the
            report (the timing then includes the profiler's overhead).
    """
    library = prepared.library
    with scratch_database(engine) as url:
        store = _seeded_store(url, registry, library)
        try:
            with Stopwatch(CpuClock(engine, url), profile) as watch:
                _batch_create(store, library, batch_size)
        finally:
            store.dispose()
        space = measure(engine, url)
    size = len(library.envelopes)
    return Measurement(engine, size, BATCH_CREATE, batch_size, *watch.result, space)


def run_raw(
    engine: str, prepared: Prepared, registry: SchemaRegistry, batch_size: int
) -> Measurement:
    """Write the artifacts-table rows alone with the engine's bulk path, through the driver."""
    batches = [
        [Write(artifacts.name, tuple(COLUMNS), list(rows))]
        for rows in _batches(prepared.rows, batch_size)
    ]
    path = RAW_PATH[engine]
    return _run_writes(engine, prepared, registry, batches, path=path, batch_size=batch_size)


def run_raw_same_rows(engine: str, prepared: Prepared, registry: SchemaRegistry) -> Measurement:
    """Write every row batch_create stores, batched as it is, with the engine's bulk path."""
    return _run_writes(
        engine,
        prepared,
        registry,
        prepared.same_rows,
        path=RAW_SAME_PATH[engine],
        batch_size=prepared.batch_size,
    )


def _run_writes(
    engine: str,
    prepared: Prepared,
    registry: SchemaRegistry,
    batches: Sequence[Batch],
    *,
    path: str,
    batch_size: int,
) -> Measurement:
    with scratch_database(engine) as url:
        _seeded_store(url, registry, prepared.library).dispose()
        watch = Stopwatch(CpuClock(engine, url))
        _write_raw(engine, url, batches, watch)
        space = measure(engine, url)
    size = len(prepared.rows)
    return Measurement(engine, size, path, batch_size, *watch.result, space)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One table of a raw-same-rows database against the batch_create database."""

    engine: str
    artifacts: int
    table: str
    expected: int
    found: int
    difference: str | None

    @property
    def equal(self) -> bool:
        """Whether both databases hold the same rows in this table."""
        return self.difference is None


def verify_same_rows(engine: str, prepared: Prepared, registry: SchemaRegistry) -> list[Comparison]:
    """Write the library with batch_create and with the raw same rows, and compare.

    Compares every projection table and run_outputs as ``ProjectionWriter.snapshot`` sees
    them (all columns but the surrogate id) and the artifacts table without created_at,
    which each path sets to its own clock.
    """
    library = prepared.library
    with scratch_database(engine) as created_url, scratch_database(engine) as raw_url:
        store = _seeded_store(created_url, registry, library)
        try:
            _batch_create(store, library, prepared.batch_size)
            expected = _contents(store)
        finally:
            store.dispose()
        raw = _seeded_store(raw_url, registry, library)
        try:
            _write_raw(engine, raw_url, prepared.same_rows, nullcontext())
            found = _contents(raw)
        finally:
            raw.dispose()
    size = len(library.envelopes)
    return [
        Comparison(engine, size, name, len(rows), len(found[name]), _difference(rows, found[name]))
        for name, rows in expected.items()
    ]


def _batch_create(store: Store, library: Library, batch_size: int) -> None:
    for batch in library.batches(batch_size):
        with store.unit_of_work() as uow:
            uow.artifacts.batch_create(batch)


def _contents(store: Store) -> dict[str, list[Row]]:
    """The artifacts (without created_at) and every derived table, sorted, comparable."""
    kept = [column for column in artifacts.columns if column.name != "created_at"]
    query = select(*kept).order_by(artifacts.c.artifact_id)
    with store.unit_of_work(write=False) as uow:
        found = {
            artifacts.name: [
                tuple(_comparable(value) for value in row) for row in uow.connection.execute(query)
            ]
        }
        for name in projection_names():
            found[name] = uow.projections.snapshot(name)
    return found


def _comparable(value: Any) -> Any:
    """JSON payloads as canonical text: the engines may return them with keys reordered."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS) if isinstance(value, dict) else value


def _difference(expected: Sequence[Row], found: Sequence[Row]) -> str | None:
    """The first row where the two tables differ, shortened, or None when they are equal."""
    for index, (want, got) in enumerate(zip(expected, found, strict=False)):
        if want != got:
            return f"row {index}: batch_create {want!r:.300} != raw {got!r:.300}"
    if len(expected) != len(found):
        return f"{len(expected)} rows from batch_create, {len(found)} raw"
    return None


def _seeded_store(url: str, registry: SchemaRegistry, library: Library) -> Store:
    """A store on a freshly migrated database holding the library's videos and runs."""
    store = Store(url, registry)
    store.upgrade()
    with store.unit_of_work() as uow:
        for video in library.videos:
            uow.videos.add(video)
        for run in library.runs:
            uow.runs.create(run)
    return store


class Stopwatch:
    """Wall and CPU time of a ``with`` block, after a collection so no earlier garbage is
    collected inside it; optionally under cProfile (the profiler's overhead is then timed too).
    """

    def __init__(self, cpu: CpuClock, profile: Callable[[str], None] | None = None) -> None:
        self._cpu = cpu
        self._profile = profile
        self._profiler: cProfile.Profile | None = None
        self._started = (0.0, 0.0)
        self.result: tuple[float, float | None] = (0.0, None)

    def __enter__(self) -> Stopwatch:
        gc.collect()
        self._cpu.start()
        self._profiler = cProfile.Profile() if self._profile is not None else None
        self._started = (time.perf_counter(), process_time())
        if self._profiler is not None:
            self._profiler.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._profiler is not None:
            self._profiler.disable()
        wall, cpu = time.perf_counter(), process_time()
        elapsed = wall - self._started[0]
        self.result = (elapsed, self._cpu.elapsed(cpu - self._started[1]))
        if self._profiler is not None and self._profile is not None:
            self._profile(_profile_report(self._profiler))


def _profile_report(profiler: cProfile.Profile, lines: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(lines)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(lines)
    return out.getvalue()


def _batches(rows: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _write_raw(engine: str, url: str, batches: Sequence[Batch], watch: Timed) -> None:
    """Run ``batches``, one transaction each, with only the driver calls inside ``watch``."""
    if engine == "sqlite":
        _sqlite_executemany(url, batches, watch)
    else:
        _postgres_copy(url, batches, watch)


def _insert_sql(write: Write, mark: str) -> str:
    """INSERT of ``write``'s columns; an upsert when it has conflict keys."""
    marks = ", ".join(mark for _ in write.columns)
    sql = f"INSERT INTO {write.table} ({', '.join(write.columns)}) VALUES ({marks})"
    if not write.conflict:
        return sql
    changes = ", ".join(
        f"{name} = {write.table}.{name} + excluded.{name}"
        if name in write.add
        else f"{name} = excluded.{name}"
        for name in write.columns
        if name not in write.conflict
    )
    return f"{sql} ON CONFLICT ({', '.join(write.conflict)}) DO UPDATE SET {changes}"


def _sqlite_rows(rows: Sequence[Row]) -> list[Row]:
    """Timestamps as the text the store writes (naive UTC): the driver gets ready values."""
    texts: dict[datetime, str] = {}

    def ready(value: Any) -> Any:
        if not isinstance(value, datetime):
            return value
        if (text := texts.get(value)) is None:
            text = texts[value] = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return text

    return [tuple(ready(value) for value in row) for row in rows]


def _sqlite_executemany(url: str, batches: Sequence[Batch], watch: Timed) -> None:
    # Statements and driver-ready values are built before the clock starts.
    planned = [[(_insert_sql(w, "?"), _sqlite_rows(w.rows)) for w in batch] for batch in batches]
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        for pragma in SQLITE_PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
        with watch:
            for statements in planned:
                conn.execute("BEGIN IMMEDIATE")
                for sql, rows in statements:
                    conn.executemany(sql, rows)
                conn.execute("COMMIT")
    finally:
        conn.close()


def _postgres_copy(url: str, batches: Sequence[Batch], watch: Timed) -> None:
    """COPY for bulk inserts; upserts (run_outputs) by executemany, as batch_create does."""
    planned = [
        [
            (_insert_sql(w, "%s") if w.conflict else _copy_sql(w), w.conflict != (), w.rows)
            for w in batch
        ]
        for batch in batches
    ]
    with psycopg.connect(libpq(url)) as conn, watch:
        for statements in planned:
            with conn.transaction(), conn.cursor() as cursor:
                for sql, upsert, rows in statements:
                    if upsert:
                        cursor.executemany(sql, rows)
                        continue
                    with cursor.copy(sql) as copy:
                        for row in rows:
                            copy.write_row(row)


def _copy_sql(write: Write) -> str:
    return f"COPY {write.table} ({', '.join(write.columns)}) FROM STDIN"
