"""``eioku import`` and ``eioku export``: JSON Lines exchange files (see storage.exchange)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer

from eioku.cli import (
    app,
    binary_stdout,
    open_store,
    selection_option,
    stderr_console,
    stdout_console,
)
from eioku.domain.errors import InvalidInput
from eioku.storage.exchange import Counts, ExportFilter, export_records, import_records
from eioku.storage.store import Store


def summary(verb: str, counts: Counts) -> str:
    """``imported 1 video, 2 runs, ...``: one count per record kind."""
    parts = [f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items()]
    return f"{verb} " + ", ".join(parts)


@contextmanager
def _opened(path: Path, mode: str) -> Iterator[IO[bytes]]:
    """Open a file, turning the OS's refusal into a one-line user error."""
    try:
        handle: IO[bytes] = path.open(mode)
    except OSError as exc:
        raise InvalidInput(f"cannot open {path}: {exc.strerror or exc}") from exc
    with handle:
        yield handle


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSON Lines file to import; '-' reads stdin.")],
) -> None:
    """Import videos, runs, artifacts and policies: all of them, or nothing on any error."""
    store = open_store(ctx)
    if file == "-":
        counts = import_records(store, typer.get_binary_stream("stdin"))
    else:
        with _opened(Path(file), "rb") as stream:
            counts = import_records(store, stream)
    stdout_console().print(summary("imported", counts))


@app.command("export")
def export_command(
    ctx: typer.Context,
    *,
    video: Annotated[str | None, typer.Option("--video", help="Only this video.")] = None,
    artifact_type: Annotated[
        str | None, typer.Option("--type", help="Only artifacts of this type.")
    ] = None,
    selection: Annotated[
        str | None,
        typer.Option(
            "--selection", help="Only artifacts this policy selects (default: every run)."
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile for --selection profile.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export records as JSON Lines in a fixed order (export, import, export is identical)."""
    filters = ExportFilter(
        video_id=video,
        artifact_type=artifact_type,
        selection=selection_option(selection, profile),
    )
    store = open_store(ctx)
    if output is None:
        export_records(store, binary_stdout().write, filters)
        return
    counts = _export_to_file(store, output, filters)
    stderr_console().print(summary("exported", counts))


def _export_to_file(store: Store, output: Path, filters: ExportFilter) -> Counts:
    """Export into ``output``, removing the partial file if the export fails."""
    with _opened(output, "wb") as stream:
        try:
            return export_records(store, stream.write, filters)
        except BaseException:
            output.unlink(missing_ok=True)
            raise
