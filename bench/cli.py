"""Command line: choose engines, sizes and suites; progress goes to stderr, tables to stdout.

Nothing is written into the repository: SQLite databases live in temporary folders and
PostgreSQL databases are created and dropped on the server named by EIOKU_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from bench import ingest_suite, navigation, pipeline, workers
from bench.nav_datasets import DEFAULT_KEEP_DIR
from bench.report import FORMATS, Table, machine, render
from bench.scratch import ENGINES, server_version
from eioku.domain.profiles import ModelProfile
from eioku.pipeline.stages import STAGE_NAMES

Say = Callable[[str], None]
# A suite's tables, then (label, report) pairs of any profiles it took.
SuiteOutput = tuple[list[Table], list[tuple[str, str]]]
Suite = Callable[[argparse.Namespace, Say], SuiteOutput]


def _ingest(args: argparse.Namespace, say: Say) -> SuiteOutput:
    options = ingest_suite.IngestOptions(
        engines=tuple(args.engines or ENGINES),
        sizes=tuple(args.sizes),
        batch_size=args.batch_size,
        videos=args.videos,
        single_batch=args.single_batch,
        profile=args.profile,
        verify=args.verify,
    )
    return ingest_suite.run(options, say)


def _navigation(args: argparse.Namespace, say: Say) -> SuiteOutput:
    options = navigation.NavOptions(
        engines=tuple(args.engines or ENGINES),
        sizes=tuple(args.sizes),
        queries=args.queries,
        warmup=args.warmup,
        keep=args.keep,
        http=not args.no_http,
        naive_max=args.naive_max,
        explain=args.explain,
        prewarm=args.prewarm,
    )
    return navigation.run(options, say)


def _pipeline(args: argparse.Namespace, say: Say) -> SuiteOutput:
    options = pipeline.PipelineOptions(
        engines=tuple(args.engines or PIPELINE_ENGINES),
        profiles=tuple(ModelProfile(name) for name in args.profiles),
        stages=tuple(args.stages),
        minutes=args.minutes,
        model_dir=args.model_dir,
        keep=args.keep,
        isolated=not args.no_isolated,
    )
    return pipeline.run(options, say)


def _workers(args: argparse.Namespace, say: Say) -> SuiteOutput:
    return workers.run(say), []


SUITES: dict[str, Suite] = {
    "ingest": _ingest,
    "navigation": _navigation,
    "pipeline": _pipeline,
    "workers": _workers,
}
# Engines a suite uses when --engines is not given.
DEFAULT_ENGINES = {
    "ingest": ENGINES,
    "navigation": ENGINES,
    "pipeline": ("sqlite",),
    "workers": ("postgresql",),
}
PIPELINE_ENGINES = DEFAULT_ENGINES["pipeline"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen suites and print their tables; returns the exit status."""
    args = _parser().parse_args(argv)
    # A plain kill still drops the scratch databases: finally blocks run on SystemExit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = Console(width=160 if args.format == "rich" else 10_000)
    progress = Console(stderr=True, soft_wrap=True)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    say = progress.log if args.verbose else progress.print
    engines = args.engines or sorted({e for name in args.only for e in DEFAULT_ENGINES[name]})
    described = machine([server_version(engine) for engine in engines])
    say(f"machine: {described}")
    tables: list[Table] = []
    profiles: list[tuple[str, str]] = []
    for name in args.only:
        found, reports = SUITES[name](args, say)
        tables += found
        profiles += reports
    out.print(f"Machine: {described}", markup=False, highlight=False)
    out.print()
    render(tables, args.format, out)
    for label, report in profiles:
        out.print(f"cProfile of {label} (timing includes profiler overhead)")
        out.print(report, markup=False, highlight=False)
    load = os.getloadavg()[0]
    out.print(f"Whole benchmark: {time.perf_counter() - started:.0f} s; load average {load:.1f}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--engines",
        type=_choices(ENGINES),
        default=None,
        help="comma-separated (default: both; pipeline: sqlite)",
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=[100_000, 1_000_000], help="artifacts, comma-separated"
    )
    parser.add_argument("--only", type=_choices(tuple(SUITES)), default=list(SUITES))
    parser.add_argument("--batch-size", type=int, default=10_000, help="artifacts per unit of work")
    parser.add_argument("--videos", type=int, default=100, help="videos sharing the artifacts")
    parser.add_argument(
        "--single-batch",
        type=int,
        default=100_000,
        help="also store sizes up to this many in one batch (0: never)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile each batch_create")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="ingest: first check the raw same-rows database equals a batch_create one",
    )
    _navigation_arguments(parser)
    _pipeline_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="rich")
    parser.add_argument("--verbose", action="store_true", help="timestamp progress lines")
    return parser


def _navigation_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("navigation")
    group.add_argument("--queries", type=int, default=2_000, help="timed queries per case")
    group.add_argument("--warmup", type=int, default=200, help="untimed queries first")
    group.add_argument(
        "--keep",
        type=Path,
        nargs="?",
        const=DEFAULT_KEEP_DIR,
        default=None,
        help=f"generate each library once and reuse it (SQLite files in DIR, default "
        f"{DEFAULT_KEEP_DIR}; PostgreSQL databases eioku_bench_nav_*); pipeline: keep the "
        "demo video in DIR and reuse it",
    )
    group.add_argument("--no-http", action="store_true", help="skip the HTTP measurements")
    group.add_argument(
        "--naive-max", type=int, default=1_000_000, help="largest size also queried naively"
    )
    group.add_argument(
        "--explain", action="store_true", help="print query plans of cases over target"
    )
    group.add_argument(
        "--prewarm",
        action="store_true",
        help="read each library's projections and indexes into memory before timing it",
    )


def _pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline")
    group.add_argument(
        "--minutes", type=_minutes, default=10.0, help="length of the demo video (default 10)"
    )
    group.add_argument(
        "--profiles",
        type=_choices(tuple(ModelProfile)),
        default=[profile.value for profile in ModelProfile],
        help="comma-separated model profiles",
    )
    group.add_argument(
        "--stages", type=_choices(STAGE_NAMES), default=list(STAGE_NAMES), help="comma-separated"
    )
    group.add_argument(
        "--model-dir", type=Path, default=None, help="model directory (default: EIOKU_MODEL_DIR)"
    )
    group.add_argument("--no-isolated", action="store_true", help="skip running each stage alone")


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("minutes is a number, e.g. 10 or 0.5") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("minutes must be above 0 and at most 600")
    return value


def _choices(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return names

    return parse


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers, e.g. 100000,1000000") from None
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes
