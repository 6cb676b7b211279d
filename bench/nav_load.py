"""Loading a generated library: fast, by the engine's bulk path, or slowly through batch_create.

The fast path writes exactly the rows ``batch_create`` would: artifacts, projection rows from
:data:`eioku.projections.PROJECTIONS` with ``timeline_at`` and the ``selected`` flag of the
default policy (latest run per video and type, decided by the domain's own
:func:`~eioku.domain.selection.select_runs`) and run_outputs counts. Secondary indexes are
dropped for the load and rebuilt from their own DDL afterwards, which is much faster than
maintaining them row by row; ``tests/contract/test_bench_generator.py`` checks both paths agree.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, text

from bench.nav_data import (
    CREATED_AT,
    PRODUCERS,
    Item,
    Shape,
    VideoPlan,
    config_hash,
    input_hash,
    items,
    library,
    plan,
)
from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.profiles import ModelProfile
from eioku.domain.selection import RunOutput, SelectionMode, SelectionPolicy, select_runs
from eioku.projections import PROJECTIONS, Projection
from eioku.storage.artifacts import COLUMNS
from eioku.storage.backend import WRITE_OPTION
from eioku.storage.store import Store
from eioku.storage.tables import artifacts, run_outputs, runs, videos

Say = Callable[[str], None]
BATCH = 100_000  # artifacts per transaction
WORKERS = 2  # processes building rows
LATEST = SelectionPolicy(mode=SelectionMode.LATEST)
ARTIFACT_COLUMNS = (
    "artifact_id",
    "asset_id",
    "artifact_type",
    "schema_version",
    "span_start_ms",
    "span_end_ms",
    "payload",
    "producer",
    "producer_version",
    "model_profile",
    "config_hash",
    "input_hash",
    "run_id",
    "created_at",
)
if tuple(COLUMNS) != ARTIFACT_COLUMNS:  # the row tuples below are built in this order
    raise RuntimeError(f"artifacts columns changed: {COLUMNS}")
FEEDS: dict[str, tuple[Projection, ...]] = {
    kind: tuple(p for p in PROJECTIONS if p.accepts(kind, 1)) for kind in PRODUCERS
}
TABLES: dict[str, Table] = {
    p.table: cast(Table, artifacts.metadata.tables[p.table]) for p in PROJECTIONS
}
PROFILE_VALUES = {profile: profile.value for profile in ModelProfile}
CONFIG_HASHES = {
    (kind, profile.value): config_hash(kind, profile)
    for kind in PRODUCERS
    for profile in ModelProfile
}
# Row -> tuple in column order, per projection table (built on first use in each process).
_PICKERS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {}
OUTPUT_COLUMNS = ["run_id", "asset_id", "artifact_type", "model_profile", "artifact_count"]


@dataclass
class _Rows:
    """Rows of one transaction, per table, in insertion (foreign key) order."""

    videos: list[tuple[Any, ...]] = field(default_factory=list)
    runs: list[tuple[Any, ...]] = field(default_factory=list)
    artifacts: list[tuple[Any, ...]] = field(default_factory=list)
    outputs: list[tuple[Any, ...]] = field(default_factory=list)
    projections: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    columns: dict[str, list[str]] = field(default_factory=dict)
    count: int = 0

    def add(self, video: VideoPlan, made: Sequence[Item]) -> None:
        """Add one video, its runs and its artifacts with everything derived from them."""
        record = video.video.model_dump() | {"timeline_at": video.video.timeline_at}
        self.videos.append(_plain(record[c.name] for c in videos.columns))
        for run in video.runs:
            values = run.model_dump(exclude={"stages"})
            self.runs.append(_plain(values[c.name] for c in runs.columns))
        self.count += len(made)
        chosen = self._outputs(video, made)
        timeline_at = video.video.timeline_at
        source = input_hash(video.video.video_id)
        for item in made:
            self.artifacts.append(_artifact_row(item, source))
            selected = item.run_id in chosen[item.artifact_type]
            for projection in FEEDS[item.artifact_type]:
                row = projection.row(cast(ArtifactEnvelope, item))
                row["timeline_at"] = timeline_at
                row["selected"] = selected
                if (pick := _PICKERS.get(projection.table)) is None:
                    pick = _PICKERS[projection.table] = itemgetter(*row)
                self.columns.setdefault(projection.table, list(row))
                self.projections[projection.table].append(pick(row))

    def _outputs(self, video: VideoPlan, made: Sequence[Item]) -> dict[str, frozenset[str]]:
        """Count run outputs and return the runs the default policy selects, per type."""
        by_run = {run.run_id: run for run in video.runs}
        counts = Counter((item.run_id, item.artifact_type) for item in made)
        per_type: dict[str, list[RunOutput]] = defaultdict(list)
        for (run_id, kind), count in sorted(counts.items()):
            run = by_run[run_id]
            profile = run.pipeline_profile
            per_type[kind].append(RunOutput(run_id, profile, run.started_at, count))
            self.outputs.append((run_id, video.video.video_id, kind, profile.value, count))
        chosen = {kind: select_runs(LATEST, found) for kind, found in per_type.items()}
        return defaultdict(frozenset, chosen)

    def write(self, store: Store, conn: Connection) -> None:
        bulk = store.backend.bulk_insert
        bulk(conn, videos, [c.name for c in videos.columns], self.videos)
        bulk(conn, runs, [c.name for c in runs.columns], self.runs)
        bulk(conn, artifacts, list(ARTIFACT_COLUMNS), self.artifacts)
        bulk(conn, run_outputs, OUTPUT_COLUMNS, self.outputs)
        for name, rows in self.projections.items():
            bulk(conn, TABLES[name], self.columns[name], rows)


def _plain(values: Iterable[Any]) -> tuple[Any, ...]:
    """Enum members as their values: drivers may adapt an Enum by its name."""
    return tuple(value.value if isinstance(value, Enum) else value for value in values)


def _artifact_row(item: Item, source: str) -> tuple[Any, ...]:
    producer, version = PRODUCERS[item.artifact_type]
    profile = PROFILE_VALUES[item.model_profile]
    return (
        item.artifact_id,
        item.asset_id,
        item.artifact_type,
        1,
        item.span_start_ms,
        item.span_end_ms,
        orjson.dumps(item.payload).decode(),
        producer,
        version,
        profile,
        CONFIG_HASHES[item.artifact_type, profile],
        source,
        item.run_id,
        CREATED_AT,
    )


def load_fast(store: Store, shape: Shape, say: Say) -> float:
    """Write ``shape`` into the migrated, empty database of ``store``; returns seconds taken.

    Worker processes build the rows batch by batch while a thread writes them (the drivers
    release the GIL while the database works). Foreign keys are not checked during the
    load: the rows are consistent by construction (see the contract test). Ends with
    ANALYZE (SQLite) or VACUUM ANALYZE (PostgreSQL).
    """
    started = time.perf_counter()
    indexes = _secondary_indexes(store)
    _execute(store, [f"DROP INDEX {name}" for name, _ in indexes])
    done = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-writer") as writer:
        writing: Future[int] | None = None
        for rows in _row_batches(shape):
            done += 0 if writing is None else writing.result()
            writing = writer.submit(_commit, store, rows)
            say(f"    {done:,} artifacts written ({time.perf_counter() - started:.0f} s)")
        if writing is not None:
            writing.result()
    say(f"    rebuilding {len(indexes)} indexes ({time.perf_counter() - started:.0f} s)")
    _execute(store, [sql for _, sql in indexes], settings=("maintenance_work_mem = '1GB'",))
    say(f"    analysing ({time.perf_counter() - started:.0f} s)")
    analyse(store)
    return time.perf_counter() - started


def _row_batches(shape: Shape) -> Iterator[_Rows]:
    """The rows of ``shape`` in batches of about BATCH artifacts, in video order.

    A small library is built in this process; a large one by WORKERS processes, with at
    most WORKERS + 1 batches in flight so memory stays bounded.
    """
    counts = shape.counts()
    batches: list[list[int]] = [[]]
    size = 0
    for index, count in enumerate(counts):
        if size >= BATCH:
            batches.append([])
            size = 0
        batches[-1].append(index)
        size += count
    if len(batches) == 1:
        yield _make_rows(shape, batches[0], counts)
        return
    # fork: children need no re-import of __main__; no thread exists yet to be copied
    forked = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=forked) as makers:
        window: deque[Future[_Rows]] = deque()
        for batch in batches:
            window.append(makers.submit(_make_rows, shape, batch, [counts[i] for i in batch]))
            if len(window) > WORKERS:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _make_rows(shape: Shape, indexes: Sequence[int], counts: Sequence[int]) -> _Rows:
    """The rows of the videos ``indexes``, which have ``counts`` artifacts."""
    rows = _Rows()
    for index, count in zip(indexes, counts, strict=True):
        video = plan(shape, index)
        rows.add(video, items(shape, video, count))
    return rows


def _commit(store: Store, rows: _Rows) -> int:
    with _unchecked(store) as conn:
        rows.write(store, conn)
    return rows.count


@contextmanager
def _unchecked(store: Store) -> Iterator[Connection]:
    """A write transaction without foreign key checks."""
    with store.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        if store.dialect == "postgresql":
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                yield conn
            return
        driver = conn.connection.driver_connection
        driver.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        driver.execute("PRAGMA cache_size = -1000000")  # type: ignore[union-attr]
        try:
            with conn.begin():
                yield conn
        finally:
            driver.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def _secondary_indexes(store: Store) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every index that backs no constraint."""
    if store.dialect == "sqlite":
        query = "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes AS i WHERE schemaname = 'public' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname) "
            "AND tablename <> 'alembic_version'"
        )
    with store.engine.connect() as conn:
        return [(str(name), str(sql)) for name, sql in conn.execute(text(query))]


def _execute(store: Store, statements: Sequence[str], settings: Sequence[str] = ()) -> None:
    with store.unit_of_work() as uow:
        if store.dialect == "postgresql":
            for setting in settings:
                uow.connection.exec_driver_sql(f"SET LOCAL {setting}")
        for statement in statements:
            uow.connection.exec_driver_sql(statement)


def analyse(store: Store) -> None:
    """Give the planner statistics: ANALYZE on SQLite, VACUUM ANALYZE on PostgreSQL."""
    if store.dialect == "sqlite":
        raw = store.engine.raw_connection()  # the store's connections never autocommit
        try:
            # Sampled statistics, as PRAGMA optimize gathers them: a full ANALYZE reads
            # every index of a 10^7-artifact library.
            raw.driver_connection.execute("PRAGMA analysis_limit = 1000")  # type: ignore[union-attr]
            raw.driver_connection.execute("ANALYZE")  # type: ignore[union-attr]
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()
        return
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def load_reference(store: Store, shape: Shape) -> None:
    """Write ``shape`` the way the application does: one batch_create per run."""
    for video, made in library(shape):
        with store.unit_of_work() as uow:
            uow.videos.add(video.video)
            for run in video.runs:
                uow.runs.create(run)
            for run in video.runs:
                mine = [item.envelope() for item in made if item.run_id == run.run_id]
                uow.artifacts.batch_create(mine)
