"""``eioku artifacts``: list a video's artifacts, show one, find them by provenance."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import orjson
import typer
from rich import box
from rich.table import Table

from eioku.cli import app, binary_stdout, open_store, selection_option, stdout_console
from eioku.cli.timecodes import format_ms, parse_optional
from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.selection import SelectionPolicy
from eioku.storage.artifacts import SpanFilter
from eioku.storage.exchange import envelope_record
from eioku.storage.store import UnitOfWork

artifacts_app = typer.Typer(help="Inspect stored artifacts.", no_args_is_help=True)
app.add_typer(artifacts_app, name="artifacts")

SUMMARY_KEYS = ("text", "label", "cluster_id", "scene_index")
SUMMARY_WIDTH = 72

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON Lines of envelopes.")]


def payload_summary(payload: dict[str, Any]) -> str:
    """The few payload fields a person scans for, else the compact JSON, cut to fit."""
    parts = [f"{key}={payload[key]}" for key in SUMMARY_KEYS if payload.get(key) is not None]
    if isinstance(payload.get("confidence"), float):
        parts.append(f"confidence={payload['confidence']:.2f}")
    text = ", ".join(parts) or orjson.dumps(payload).decode()
    return text if len(text) <= SUMMARY_WIDTH else text[: SUMMARY_WIDTH - 1] + "…"


def _write_json(envelopes: Iterable[ArtifactEnvelope]) -> None:
    out = binary_stdout()
    for envelope in envelopes:
        out.write(orjson.dumps(envelope_record(envelope)) + b"\n")


def _print_table(envelopes: Iterable[ArtifactEnvelope], *, with_video: bool = False) -> int:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("start", "end", "type", "profile", "run"):
        table.add_column(name, no_wrap=True)
    table.add_column("payload", ratio=1, overflow="fold")
    if with_video:
        table.add_column("video", no_wrap=True)
    count = 0
    for e in envelopes:
        row = [format_ms(e.span_start_ms), format_ms(e.span_end_ms), e.artifact_type]
        row += [e.model_profile.value, e.run_id, payload_summary(e.payload)]
        table.add_row(*row, *([e.asset_id] if with_video else []))
        count += 1
    if count:
        stdout_console().print(table)
    else:
        stdout_console().print("no artifacts")
    return count


def _selected(
    uow: UnitOfWork,
    video: str,
    filters: SpanFilter,
    policy: SelectionPolicy | None,
    limit: int,
) -> tuple[Iterable[ArtifactEnvelope], bool]:
    """The artifacts to show and whether ``limit`` cut some off; limit 0 streams them all."""
    if limit == 0:
        return uow.artifacts.iter_by_asset(video, filters, selection=policy), False
    page = uow.artifacts.get_by_asset(video, filters, selection=policy, limit=limit + 1)
    return page[:limit], len(page) > limit


@artifacts_app.command("list")
def list_artifacts(
    ctx: typer.Context,
    video: Annotated[str, typer.Argument(help="Video id.")],
    *,
    artifact_type: Annotated[str | None, typer.Option("--type", help="Artifact type.")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Overlapping from: ms, mm:ss or hh:mm:ss.mmm.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Overlapping until (same forms).")] = None,
    selection: Annotated[
        str | None,
        typer.Option("--selection", help="default, latest, profile, pinned, best_quality, all."),
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="For profile mode.")] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Only this run (the pin for pinned mode).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most N; 0 = all.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List a video's artifacts under its selection policy, ordered by start time."""
    policy = selection_option(selection, profile, run)
    pinned_run = policy is not None and policy.pinned_run_id is not None
    filters = SpanFilter(
        artifact_type=artifact_type,
        from_ms=parse_optional(from_),
        to_ms=parse_optional(to),
        run_id=None if pinned_run else run,
    )
    store = open_store(ctx)
    with store.unit_of_work(write=False) as uow:
        uow.videos.get(video)
        envelopes, cut = _selected(uow, video, filters, policy, limit)
        if as_json:
            _write_json(envelopes)
        else:
            _print_table(envelopes)
    if cut and not as_json:
        stdout_console().print(f"first {limit} shown; --limit 0 lists them all")


@artifacts_app.command("show")
def show(ctx: typer.Context, artifact_id: Annotated[str, typer.Argument()]) -> None:
    """Print one artifact's envelope, payload included, as JSON."""
    store = open_store(ctx)
    with store.unit_of_work(write=False) as uow:
        envelope = uow.artifacts.get_by_id(artifact_id)
    text = orjson.dumps(envelope_record(envelope), option=orjson.OPT_INDENT_2)
    binary_stdout().write(text + b"\n")


@artifacts_app.command("provenance")
def provenance(
    ctx: typer.Context,
    *,
    producer: Annotated[str | None, typer.Option("--producer")] = None,
    producer_version: Annotated[str | None, typer.Option("--producer-version")] = None,
    config_hash: Annotated[str | None, typer.Option("--config-hash")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 1000,
    as_json: JsonFlag = False,
) -> None:
    """Find artifacts by who made them: producer, producer version, configuration hash."""
    store = open_store(ctx)
    with store.unit_of_work(write=False) as uow:
        found = uow.artifacts.by_provenance(
            producer=producer,
            producer_version=producer_version,
            config_hash=config_hash,
            limit=limit,
        )
    if as_json:
        _write_json(found)
    else:
        _print_table(found, with_video=True)
