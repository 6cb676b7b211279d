"""``eioku library``: the folders the library is made of (sources), and scanning them.

``scan`` registers new files, notices changed, moved and deleted ones, and submits the
stages new and changed videos still need, like ``eioku ingest``: with workers
(PostgreSQL) they are queued, otherwise they run right here.
Watched sources are followed while ``eioku serve`` (or a worker) runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from eioku.bootstrap import build_dispatcher
from eioku.cli import app, open_store, stdout_console
from eioku.cli.pipeline import execute_plans
from eioku.config import Settings
from eioku.domain.errors import InvalidInput
from eioku.domain.profiles import ModelProfile, parse_profile
from eioku.domain.videos import Video, VideoStatus
from eioku.pipeline.ingest import Plan
from eioku.pipeline.library import (
    LibrarySource,
    ScanReport,
    add_source,
    find_source,
    remove_source,
    scan_source,
)
from eioku.pipeline.stages import STAGE_NAMES

library_app = typer.Typer(
    help="Library sources: folders scanned (and watched) for videos.", no_args_is_help=True
)
app.add_typer(library_app, name="library")


def _describe(source: LibrarySource) -> str:
    watched = "watched" if source.watch else "not watched"
    stages = ",".join(source.stages) if source.stages else "all stages"
    return f"{watched}, profile {source.profile.value}, {stages}"


@library_app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The folder (searched recursively).")],
    watch: Annotated[
        bool, typer.Option("--watch", help="Follow it while 'eioku serve' or a worker runs.")
    ] = False,
    profile: Annotated[
        str, typer.Option(help="fast, balanced or high_quality, for its videos.")
    ] = ModelProfile.BALANCED.value,
    stages: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated stages (default: all): {', '.join(STAGE_NAMES)}."),
    ] = None,
) -> None:
    """Add a folder to the library; 'eioku library scan' then registers its videos."""
    store = open_store(ctx)
    names = tuple(stages.split(",")) if stages and stages.strip() else ()
    source = add_source(store, path, watch=watch, profile=parse_profile(profile), stages=names)
    out = stdout_console()
    out.print(
        f"added library source {source.source_id}: {source.path} ({_describe(source)})",
        soft_wrap=True,
    )
    out.print("run 'eioku library scan' to register and process its videos", soft_wrap=True)


@library_app.command("list")
def list_sources(ctx: typer.Context) -> None:
    """The library sources, with how many videos each holds and how many are missing."""
    store = open_store(ctx)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("source", "folder", "watch", "profile", "stages", "videos", "missing", "scanned"):
        table.add_column(name, overflow="fold", no_wrap=name not in ("folder", "stages"))
    with store.unit_of_work(write=False) as uow:
        sources = uow.sources.list_all()
        for source in sources:
            found = uow.sources.videos_under(source.path)
            missing = sum(1 for video in found if video.status is VideoStatus.MISSING)
            scanned = source.last_scan_at
            table.add_row(
                source.source_id,
                source.path,
                "yes" if source.watch else "no",
                source.profile.value,
                ",".join(source.stages) or "all",
                str(len(found)),
                str(missing),
                "never" if scanned is None else scanned.isoformat(timespec="seconds"),
            )
    stdout_console().print(table if sources else "no library sources")


@library_app.command("remove")
def remove(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source's id or folder.")],
) -> None:
    """Forget a library source; its videos and their artifacts stay in the library."""
    removed = remove_source(open_store(ctx), source)
    stdout_console().print(
        f"removed library source {removed.source_id}: {removed.path} (its videos stay)",
        soft_wrap=True,
    )


@library_app.command("scan")
def scan(
    ctx: typer.Context,
    source: Annotated[
        str | None, typer.Argument(help="The source's id or folder (default: every source).")
    ] = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Only register and update; run no stage.")
    ] = False,
) -> None:
    """Scan sources: register new files, follow moves, mark deleted files missing, and
    run the stages new and changed videos need (already-done stages are skipped)."""
    store = open_store(ctx)
    if source is not None:
        sources = [find_source(store, source)]
    else:
        with store.unit_of_work(write=False) as uow:
            sources = uow.sources.list_all()
    if not sources:
        raise InvalidInput("no library sources: add a folder with 'eioku library add PATH'")
    dispatcher = build_dispatcher(Settings(), store)
    plans: list[Plan] = []

    def schedule(video: Video, profile: ModelProfile, stages: Sequence[str], /) -> Plan:
        plan = dispatcher.submit(video, profile, stages)
        if plan.run is not None:
            plans.append(plan)
        return plan

    reports = [scan_source(store, chosen, None if no_run else schedule) for chosen in sources]
    for report in reports:
        _print_report(report)
    ran_well = execute_plans(dispatcher, plans) if plans else True
    if not ran_well or any(report.errors for report in reports):
        raise typer.Exit(1)


def _print_report(report: ScanReport) -> None:
    out = stdout_console()
    if not report.quiet:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"scan of {report.path}")
        for name in ("change", "file", "video", "run / note"):
            table.add_column(name, overflow="fold", no_wrap=name in ("change", "video"))
        for category, entry in report.entries():
            note = "; ".join(part for part in (entry.run_id or "", entry.detail) if part)
            table.add_row(category, entry.path, entry.video_id or "", note)
        out.print(table)
    out.print(report.summary(), soft_wrap=True)
