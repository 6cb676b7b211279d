"""``eioku ingest``, ``eioku videos``, ``eioku runs`` and ``eioku models``: the main job.

``ingest`` registers each video file, plans the stages it still needs and executes them
with progress bars (per video and per stage, with ETA), then prints a summary table.
Ctrl-C cancels the run in progress (it is marked ``cancelled``, nothing half-written)
and exits 130. With PostgreSQL the runs are queued instead, for ``eioku worker``
processes (docs/workers.md); the summary says which queue each went to.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich import box
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from eioku.bootstrap import build_dispatcher, build_models
from eioku.cli import app, binary_stdout, open_store, stderr_console, stdout_console
from eioku.cli.timecodes import format_ms
from eioku.config import Settings
from eioku.domain.errors import EiokuError, InvalidInput
from eioku.domain.profiles import ModelProfile, parse_profile
from eioku.domain.runs import Run, RunStatus, StageStatus
from eioku.pipeline.dispatch import Dispatcher, QueueStatus
from eioku.pipeline.ingest import Plan, discover, register
from eioku.pipeline.models import ModelLibrary
from eioku.pipeline.runner import RunExecutor, StageOutcome, describe
from eioku.pipeline.stages import STAGE_NAMES, parse_stages, stage_class
from eioku.storage.store import Store

EXIT_INTERRUPTED = 130

videos_app = typer.Typer(help="The videos in the library.", no_args_is_help=True)
runs_app = typer.Typer(help="Pipeline runs and their stages.", no_args_is_help=True)
app.add_typer(videos_app, name="videos")
app.add_typer(runs_app, name="runs")


class _Bars:
    """Rich progress bars fed by the run executor."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, run: Run) -> None:
        for task in self._tasks.values():
            self._progress.remove_task(task)
        self._tasks = {
            state.stage: self._progress.add_task(f"  {state.stage}", total=1.0)
            for state in run.stages
        }

    def stage_progress(self, stage: str, fraction: float) -> None:
        if stage in self._tasks:
            self._progress.update(self._tasks[stage], completed=fraction)

    def stage_finished(self, outcome: StageOutcome) -> None:
        task = self._tasks.get(outcome.stage)
        if task is None:
            return
        label = f"  {outcome.stage}: {outcome.status.value}"
        if outcome.status is StageStatus.COMPLETED:
            label += f" ({outcome.artifact_count} artifacts)"
        self._progress.update(task, completed=1.0, description=label)


_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    TextColumn("{task.percentage:>3.0f}%"),
    TimeElapsedColumn(),
    TimeRemainingColumn(),
)


@dataclass(frozen=True)
class _Job:
    """What ``ingest`` was asked to do to every video."""

    profile: ModelProfile
    stages: tuple[str, ...]
    force: bool


@dataclass
class _Row:
    """One video's line in the summary."""

    name: str
    status: str
    done: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Video files or folders (recursive).")],
    profile: Annotated[
        str, typer.Option(help="fast, balanced or high_quality: speed against quality.")
    ] = ModelProfile.BALANCED.value,
    stages: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated stages (default: all): {', '.join(STAGE_NAMES)}."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run stages again even when nothing changed.")
    ] = False,
) -> None:
    """Register videos and run the pipeline on them; already-done stages are skipped."""
    job = _Job(parse_profile(profile), parse_stages(stages), force)
    files, missing = discover(paths)
    for problem in missing:
        stderr_console().print(f"error: {problem}")
    if not files:
        raise InvalidInput("no video files found in " + ", ".join(str(p) for p in paths))
    store = open_store(ctx)
    dispatcher = build_dispatcher(Settings(), store)
    logging.getLogger("eioku").setLevel(logging.CRITICAL)  # reasons go to the summary
    rows: list[_Row] = []
    console = stderr_console()
    with Progress(*_COLUMNS, console=console, transient=False) as bar:
        overall = bar.add_task("videos", total=len(files))
        bars = _Bars(bar)
        for number, path in enumerate(files, 1):
            bar.update(overall, description=f"video {number}/{len(files)}: {path.name}")
            rows.append(_ingest_one(dispatcher, path, job, bars))
            bar.advance(overall)
    _summary(rows, missing)
    if missing or any(row.problems for row in rows):
        raise typer.Exit(1)


def _ingest_one(dispatcher: Dispatcher, path: Path, job: _Job, bars: _Bars) -> _Row:
    row = _Row(str(path), "failed")
    try:
        video = register(dispatcher.store, path)
        plan = dispatcher.submit(video, job.profile, job.stages, force=job.force)
    except EiokuError as exc:
        row.problems.append(describe(exc))
        return row
    if dispatcher.uses_workers:
        return queued_row(dispatcher, plan)
    return _execute(dispatcher.store, dispatcher.models, plan, bars)


def queued_row(dispatcher: Dispatcher, plan: Plan) -> _Row:
    """The summary line of a plan handed to workers (nothing executes here)."""
    video = plan.video
    row = _Row(f"{video.filename} ({video.video_id})", "up to date")
    row.done = list(plan.up_to_date)
    if plan.run is None:
        return row
    pending = [s.stage for s in plan.run.stages if s.status is StageStatus.PENDING]
    queues = ", ".join(dispatcher.jobs.routing.split(pending)) if dispatcher.jobs else ""
    row.status = plan.run.status.value
    already = "already " if plan.reused else ""
    row.notes.append(
        f"run {plan.run.run_id} {already}{plan.run.status.value} on {queues or 'the queue'}: "
        "'eioku worker' executes it"
    )
    return row


def _execute(store: Store, models: ModelLibrary, plan: Plan, bars: _Bars) -> _Row:
    video = plan.video
    row = _Row(f"{video.filename} ({video.video_id})", "failed")
    if plan.run is None:
        row.status = "up to date"
        row.done = list(plan.up_to_date)
        return row
    if plan.reused and plan.run.status is not RunStatus.QUEUED:
        row.status = plan.run.status.value
        row.notes.append(f"run {plan.run.run_id} is already {plan.run.status.value} elsewhere")
        return row
    bars.start(plan.run)
    executor = RunExecutor(store, models, observer=bars)
    try:
        outcome = executor.execute(plan.run.run_id)
    except KeyboardInterrupt:
        stderr_console().print(f"interrupted: run {plan.run.run_id} cancelled")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    row.status = outcome.run.status.value
    for stage in outcome.stages:
        if stage.status is StageStatus.COMPLETED:
            row.done.append(stage.stage)
            row.counts[stage_class(stage.stage).artifact_type] += stage.artifact_count
        elif stage.status is StageStatus.SKIPPED:
            row.notes.append(f"skipped {stage.message or stage.stage}")
        else:
            row.problems.append(f"{stage.stage} {stage.status.value}: {stage.message}")
    return row


def execute_plans(dispatcher: Dispatcher, plans: Sequence[Plan]) -> bool:
    """Finish submitted plans as ``ingest`` does, then print the summary table.

    For commands that submit first (``library scan``): with workers the runs are queued
    already and are only listed; otherwise they execute here with progress bars. Returns
    False when any run had failures; Ctrl-C cancels the run in progress and exits 130.
    """
    rows: list[_Row] = []
    if dispatcher.uses_workers:
        rows = [queued_row(dispatcher, plan) for plan in plans]
    else:
        logger = logging.getLogger("eioku")
        level = logger.level
        logger.setLevel(logging.CRITICAL)  # reasons go to the summary
        try:
            with Progress(*_COLUMNS, console=stderr_console(), transient=False) as bar:
                overall = bar.add_task("videos", total=len(plans))
                bars = _Bars(bar)
                for number, plan in enumerate(plans, 1):
                    name = plan.video.filename
                    bar.update(overall, description=f"video {number}/{len(plans)}: {name}")
                    rows.append(_execute(dispatcher.store, dispatcher.models, plan, bars))
                    bar.advance(overall)
        finally:
            logger.setLevel(level)
    _summary(rows, [])
    return not any(row.problems for row in rows)


def _summary(rows: list[_Row], missing: list[str]) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="ingest summary")
    for name in ("video", "run", "stages done", "artifacts", "failures and notes"):
        table.add_column(name, overflow="fold")
    for row in rows:
        counts = ", ".join(f"{kind}: {n}" for kind, n in sorted(row.counts.items()))
        remarks = "\n".join([*row.problems, *row.notes])
        table.add_row(row.name, row.status, ", ".join(row.done), counts, remarks)
    stdout_console().print(table)
    failed = sum(1 for row in rows if row.problems)
    stdout_console().print(
        f"{len(rows)} videos: {len(rows) - failed} processed or up to date, {failed} with "
        f"failures; {len(missing)} paths not found"
    )


@videos_app.command("list")
def list_videos(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Videos along the global timeline (when filmed, else file time), with their status."""
    store = open_store(ctx)
    with store.unit_of_work(write=False) as uow:
        found = uow.videos.list(limit=limit)
    if as_json:
        out = binary_stdout()
        for video in found:
            out.write(orjson.dumps(video.model_dump(mode="json")) + b"\n")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("video", "file", "duration", "filmed / file time", "status"):
        table.add_column(name, overflow="fold")
    for video in found:
        length = "" if video.duration_ms is None else format_ms(video.duration_ms)
        when = video.timeline_at.isoformat(timespec="seconds")
        table.add_row(video.video_id, video.filename, length, when, video.status.value)
    stdout_console().print(table if found else "no videos")


def _runs_table(runs: list[Run]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("run", "video", "profile", "status", "started", "stages"):
        table.add_column(name, overflow="fold")
    for run in runs:
        stages = ", ".join(f"{s.stage}:{s.status.value}" for s in run.stages)
        started = run.started_at.isoformat(timespec="seconds")
        table.add_row(
            run.run_id, run.asset_id, run.pipeline_profile.value, run.status.value, started, stages
        )
    return table


@runs_app.command("list")
def list_runs(
    ctx: typer.Context,
    video: Annotated[str | None, typer.Argument(help="Only this video's runs.")] = None,
) -> None:
    """Runs, newest first for one video, or every run of the library."""
    store = open_store(ctx)
    with store.unit_of_work(write=False) as uow:
        if video is not None:
            uow.videos.get(video)
        found = uow.runs.list_for_video(video) if video is not None else uow.runs.list_all()
    stdout_console().print(_runs_table(found) if found else "no runs")
    dispatcher = build_dispatcher(Settings(), store)
    if dispatcher.uses_workers:
        stdout_console().print(_queue_line(dispatcher.queue_status()))


def _queue_line(status: QueueStatus) -> str:
    depth = status.depth()
    waiting = ", ".join(f"{queue} {n}" for queue, n in sorted(depth.items())) or "empty"
    return f"queue depth: {waiting}; workers alive: {status.workers_alive}"


@runs_app.command("queue")
def queue_status(ctx: typer.Context) -> None:
    """Jobs per worker queue and status, and how many workers are alive."""
    store = open_store(ctx)
    status = build_dispatcher(Settings(), store).queue_status()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("queue", "status", "jobs" if status.workers else "runs"):
        table.add_column(name)
    for count in status.jobs:
        table.add_row(count.queue, count.status, str(count.count))
    out = stdout_console()
    out.print(table if status.jobs else "no jobs")
    if status.workers:
        out.print(_queue_line(status))
    else:
        out.print("runs execute locally (SQLite or EIOKU_EXECUTOR=local): no worker queue")


@runs_app.command("cancel")
def cancel_run(ctx: typer.Context, run_id: Annotated[str, typer.Argument(help="Run id.")]) -> None:
    """Cancel a queued or running run; whoever executes it stops within seconds."""
    store = open_store(ctx)
    run = build_dispatcher(Settings(), store).cancel(run_id)
    stdout_console().print(f"run {run.run_id} {run.status.value}")


@runs_app.command("show")
def show_run(ctx: typer.Context, run_id: Annotated[str, typer.Argument(help="Run id.")]) -> None:
    """A run with each stage's status, progress, artifact count and error."""
    store = open_store(ctx)
    with store.unit_of_work(write=False) as uow:
        run = uow.runs.get(run_id)
    out = stdout_console()
    out.print(
        f"run {run.run_id}  video {run.asset_id}  profile {run.pipeline_profile.value}  "
        f"status {run.status.value}"
    )
    if run.error:
        out.print(f"error: {run.error}")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("stage", "status", "progress", "artifacts", "config", "error"):
        table.add_column(name, overflow="fold")
    for stage in run.stages:
        count = "" if stage.artifact_count is None else str(stage.artifact_count)
        table.add_row(
            stage.stage,
            stage.status.value,
            f"{stage.progress:.0%}",
            count,
            (stage.config_hash or "")[:12],
            stage.error or "",
        )
    out.print(table)


@app.command("models")
def models_command(
    profile: Annotated[str, typer.Option(help="Profile whose models to check.")] = "balanced",
) -> None:
    """Which models each stage uses, where they were found, and what to put where."""
    chosen = parse_profile(profile)
    settings = Settings()
    library = build_models(settings)
    out = stdout_console()
    out.print(f"model directory: {settings.model_dir}")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("stage", "model", "status", "where / what to do"):
        table.add_column(name, overflow="fold")
    for name in STAGE_NAMES:
        stage = stage_class(name)(chosen, library)
        statuses = list(stage.model_status())
        if not statuses:
            table.add_row(name, "-", "ready", "no model needed")
        for status in statuses:
            state = "ready" if status.available else "missing"
            table.add_row(name, status.model, state, status.location or status.hint)
    out.print(table)
