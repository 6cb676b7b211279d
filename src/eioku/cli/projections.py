"""``eioku projections``: rebuild derived tables from the artifacts, or check they match."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from eioku.cli import EXIT_USER_ERROR, app, open_store, stdout_console
from eioku.storage.projections import projection_names
from eioku.storage.store import Store

projections_app = typer.Typer(help="Derived, rebuildable tables.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")


class _Discard(Exception):
    """Raised inside the check's unit of work so that nothing it rebuilt is committed."""

    def __init__(self, differing: list[str]) -> None:
        super().__init__("check done; roll back")
        self.differing = differing


@projections_app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None, typer.Argument(help="Tables to rebuild (default: all).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Rebuild, compare with what is stored, roll back."),
    ] = False,
) -> None:
    """Drop and re-derive projection tables from the artifacts, in one transaction."""
    store = open_store(ctx)
    if check:
        _check(store, names or projection_names())
        return
    with store.unit_of_work() as uow:
        counts = uow.projections.rebuild(names or None, uow.artifacts.iter_by_type)
    table = Table("projection", "rows")
    for name, rows in counts.items():
        table.add_row(name, str(rows))
    stdout_console().print(table)


def _check(store: Store, names: list[str]) -> None:
    """Compare each table with its rebuild, one table at a time to bound memory.

    Exits 1 listing the tables that differ; nothing is ever committed.
    """
    try:
        with store.unit_of_work() as uow:
            differing = []
            for name in names:
                before = uow.projections.snapshot(name)
                uow.projections.rebuild([name], uow.artifacts.iter_by_type)
                if uow.projections.snapshot(name) != before:
                    differing.append(name)
            raise _Discard(differing)
    except _Discard as outcome:
        differing = outcome.differing
    console = stdout_console()
    if not differing:
        console.print(f"identical ({len(names)} tables checked)")
        return
    for name in differing:
        console.print(f"{name}: differs from a rebuild")
    console.print("nothing was changed; run 'eioku projections rebuild' to repair")
    raise typer.Exit(EXIT_USER_ERROR)
