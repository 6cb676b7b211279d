"""The ``ingest`` suite: for each size, build one library, write it with every path on every
engine into fresh databases, and tabulate rate, ratios to both raw paths and bytes per
artifact; with ``verify``, first check that the raw same-rows path stores what batch_create
stores."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.ingest import (
    BATCH_CREATE,
    RAW_PATH,
    RAW_SAME_PATH,
    Comparison,
    Measurement,
    Prepared,
    prepare,
    run_batch_create,
    run_raw,
    run_raw_same_rows,
    verify_same_rows,
)
from bench.report import Column, Table, count, seconds
from bench.workload import MIX, build_library
from eioku.domain.schemas.registry import SchemaRegistry, load_registry

Say = Callable[[str], None]
TARGET_RATIO = 0.5


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """What to measure."""

    engines: tuple[str, ...]
    sizes: tuple[int, ...]
    batch_size: int = 10_000
    videos: int = 100
    single_batch: int = 100_000
    profile: bool = False
    top_tables: int = 8
    verify: bool = False


@dataclass(slots=True)
class IngestResults:
    """Everything measured, with the profiles taken on the way."""

    prepared: list[tuple[int, float, float, float]] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    checks: list[Comparison] = field(default_factory=list)
    profiles: list[tuple[str, str]] = field(default_factory=list)


def run(options: IngestOptions, say: Say) -> tuple[list[Table], list[tuple[str, str]]]:
    """Measure every size on every engine; returns the tables and any profile reports."""
    session = _Session(load_registry(), options, say)
    for size in options.sizes:
        session.measure_size(size)
    return tables(session.results, options), session.results.profiles


@dataclass(slots=True)
class _Session:
    registry: SchemaRegistry
    options: IngestOptions
    say: Say
    results: IngestResults = field(default_factory=IngestResults)

    def measure_size(self, size: int) -> None:
        """Build the library of ``size`` artifacts once, then write it on every engine."""
        self.say(f"building {size:,} envelopes over {self.options.videos} videos")
        started = time.perf_counter()
        library = build_library(size, self.options.videos)
        prepared = prepare(library, time.perf_counter() - started, self.options.batch_size)
        self.results.prepared.append(
            (size, prepared.build_seconds, prepared.rows_seconds, prepared.same_rows_seconds)
        )
        self.say(
            f"  built in {prepared.build_seconds:.1f} s (raw rows {prepared.rows_seconds:.1f} s,"
            f" same rows {prepared.same_rows_seconds:.1f} s)"
        )
        # The library lives for the whole size: keep the collector from rescanning it.
        gc.collect()
        gc.freeze()
        try:
            if self.options.verify:
                for engine in self.options.engines:
                    self.verify(engine, prepared)
            for engine in self.options.engines:
                self.measure_engine(engine, prepared)
        finally:
            gc.unfreeze()
            del library, prepared
            gc.collect()

    def verify(self, engine: str, prepared: Prepared) -> None:
        """Compare a raw same-rows database with a batch_create one; stop on a difference."""
        checks = verify_same_rows(engine, prepared, self.registry)
        self.results.checks += checks
        differ = [c for c in checks if not c.equal]
        for check in differ:
            self.say(f"  {engine} {check.table} differs: {check.difference}")
        if differ:
            names = ", ".join(c.table for c in differ)
            raise VerifyError(f"raw same rows differ from batch_create on {engine}: {names}")
        rows = sum(c.expected for c in checks)
        self.say(
            f"  {engine:<10} raw same rows == batch_create ({len(checks)} tables, {rows:,} rows)"
        )

    def measure_engine(self, engine: str, prepared: Prepared) -> None:
        """Both raw paths, batch_create in batches, and one single batch when the size is small."""
        batch_size = self.options.batch_size
        size = len(prepared.rows)
        self._keep(run_raw(engine, prepared, self.registry, batch_size))
        self._keep(run_raw_same_rows(engine, prepared, self.registry))
        label = f"{engine} {size:,} batch_create x {batch_size:,}"
        profile = self._profile_sink(label)
        self._keep(run_batch_create(engine, prepared, self.registry, batch_size, profile=profile))
        if batch_size < size <= self.options.single_batch:
            self._keep(run_batch_create(engine, prepared, self.registry, size))

    def _keep(self, m: Measurement) -> None:
        self.results.measurements.append(m)
        cpu = "" if m.cpu_seconds is None else f" (CPU {m.cpu_seconds:.1f} s)"
        self.say(
            f"  {m.engine:<10} {m.artifacts:>10,} {m.path:<26} {m.batches:>4} batches"
            f" {m.seconds:8.1f} s {m.rows_per_second:>10,.0f} rows/s{cpu}"
        )

    def _profile_sink(self, label: str) -> Callable[[str], None] | None:
        if not self.options.profile:
            return None
        return lambda report: self.results.profiles.append((label, report))


class VerifyError(RuntimeError):
    """The raw same-rows path stored something batch_create does not."""


def tables(results: IngestResults, options: IngestOptions) -> list[Table]:
    """The workload, any same-rows check, the write-path rates and the space breakdown."""
    found = [_workload_table(results, options)]
    if results.checks:
        found.append(_check_table(results.checks))
    return [
        *found,
        _rate_table(results.measurements),
        _space_table(results.measurements, options.top_tables),
    ]


def _workload_table(results: IngestResults, options: IngestOptions) -> Table:
    mix = ", ".join(f"{share:.0%} {kind}" for kind, share in MIX)
    table = Table(
        "Workload (built before timing; the caller's cost)",
        (
            Column("artifacts", numeric=True),
            Column("videos", numeric=True),
            Column("build envelopes s", numeric=True),
            Column("envelopes/s", numeric=True),
            Column("serialise raw rows s", numeric=True),
            Column("derive same rows s", numeric=True),
        ),
        note=f"Mix: {mix}; one run per video.",
    )
    for size, build, rows, same in results.prepared:
        table.add(
            count(size),
            count(options.videos),
            seconds(build),
            count(size / build),
            seconds(rows),
            seconds(same),
        )
    return table


def _check_table(checks: Sequence[Comparison]) -> Table:
    table = Table(
        "Raw same rows against batch_create (--verify)",
        (
            Column("engine"),
            Column("artifacts", numeric=True),
            Column("table"),
            Column("batch_create rows", numeric=True),
            Column("raw rows", numeric=True),
            Column("equal"),
        ),
        note="Projection tables and run_outputs: ProjectionWriter.snapshot (every column but "
        "id); artifacts: every column but created_at, which each path sets to its own clock.",
    )
    for c in checks:
        table.add(
            c.engine,
            count(c.artifacts),
            c.table,
            count(c.expected),
            count(c.found),
            "yes" if c.equal else "NO",
        )
    return table


def _rate_table(measurements: Sequence[Measurement]) -> Table:
    table = Table(
        "Artifact store write path",
        (
            Column("engine"),
            Column("artifacts", numeric=True),
            Column("path"),
            Column("batches", numeric=True),
            Column("seconds", numeric=True),
            Column("rows/s", numeric=True),
            Column("vs raw", numeric=True),
            Column("vs raw same rows", numeric=True),
            Column("CPU s", numeric=True),
            Column("rows/CPU s", numeric=True),
            Column("vs raw (CPU)", numeric=True),
            Column("vs raw same rows (CPU)", numeric=True),
            Column("bytes/artifact", numeric=True),
        ),
        note=(
            "rows/s: artifacts per second. vs raw: rate / rate of the raw path into the "
            f"artifacts table only, same engine and size (target for batch_create >= "
            f"{TARGET_RATIO}); vs raw same rows: rate / rate of the raw path writing every row "
            "batch_create stores (artifacts, projection rows, run_outputs). CPU s: this "
            "process plus the local PostgreSQL backends, which other load on the machine does "
            "not inflate. bytes/artifact: whole database incl. indexes."
        ),
    )
    raw = {(m.engine, m.artifacts): m for m in measurements if m.path == RAW_PATH[m.engine]}
    same = {(m.engine, m.artifacts): m for m in measurements if m.path == RAW_SAME_PATH[m.engine]}
    for m in measurements:
        base = raw.get((m.engine, m.artifacts))
        full = same.get((m.engine, m.artifacts))
        table.add(
            m.engine,
            count(m.artifacts),
            m.path,
            f"{m.batches} x {m.batch_size:,}",
            seconds(m.seconds),
            count(m.rows_per_second),
            _ratio(m.rows_per_second, base.rows_per_second if base else None),
            _ratio(m.rows_per_second, full.rows_per_second if full else None),
            "-" if m.cpu_seconds is None else seconds(m.cpu_seconds),
            "-" if m.rows_per_cpu_second is None else count(m.rows_per_cpu_second),
            _ratio(m.rows_per_cpu_second, base.rows_per_cpu_second if base else None),
            _ratio(m.rows_per_cpu_second, full.rows_per_cpu_second if full else None),
            count(m.space.total_bytes / m.artifacts),
        )
    return table


def _ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or not base else f"{value / base:.2f}"


def _space_table(measurements: Sequence[Measurement], top: int) -> Table:
    table = Table(
        "Bytes per artifact by table (batch_create database, largest size)",
        (
            Column("engine"),
            Column("artifacts", numeric=True),
            Column("table"),
            Column("rows B/artifact", numeric=True),
            Column("indexes B/artifact", numeric=True),
            Column("total B/artifact", numeric=True),
            Column("share", numeric=True),
        ),
        note="SQLite: dbstat pages, FTS5 shadow tables counted as indexes of their projection. "
        "PostgreSQL: pg_table_size (heap + TOAST) and pg_indexes_size after VACUUM ANALYZE.",
    )
    for m in _largest_batched(measurements):
        whole = m.space.total_bytes
        shown = m.space.tables[:top]
        for t in shown:
            table.add(
                m.engine,
                count(m.artifacts),
                t.name,
                f"{t.data_bytes / m.artifacts:,.1f}",
                f"{t.index_bytes / m.artifacts:,.1f}",
                f"{t.total / m.artifacts:,.1f}",
                f"{t.total / whole:.1%}",
            )
        rest = whole - sum(t.total for t in shown)
        label = "(everything else)" if m.space.tables else "(dbstat unavailable: whole file)"
        table.add(
            m.engine,
            count(m.artifacts),
            label,
            "",
            "",
            f"{rest / m.artifacts:,.1f}",
            f"{rest / whole:.1%}",
        )
    return table


def _largest_batched(measurements: Sequence[Measurement]) -> list[Measurement]:
    """Per engine, the batch_create run (smallest batches) at the largest size."""
    best: dict[str, Measurement] = {}
    for m in measurements:
        if m.path != BATCH_CREATE:
            continue
        current = best.get(m.engine)
        if current is None or (m.artifacts, m.batches) > (current.artifacts, current.batches):
            best[m.engine] = m
    return list(best.values())
