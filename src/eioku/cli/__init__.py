"""The ``eioku`` command line: one Typer app, one module per command group.

Errors from the library's own tree (:class:`~eioku.domain.errors.EiokuError`) are the
user's to fix, so they print as one line on stderr and exit 1, in one place (the root
group). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from eioku.bootstrap import build_store
from eioku.config import Settings
from eioku.domain.errors import EiokuError
from eioku.domain.selection import SelectionMode, SelectionPolicy, make_policy
from eioku.storage.store import Store

EXIT_USER_ERROR = 1


PIPED_WIDTH = 140


def stdout_console() -> Console:
    """A console on the current stdout (made per call, so test runners can capture it)."""
    # Piped output is read by people too (logs, the README): don't squeeze it to 80 columns.
    width = None if sys.stdout.isatty() else PIPED_WIDTH
    return Console(highlight=False, emoji=False, markup=False, width=width)


def stderr_console() -> Console:
    """A console on the current stderr that never wraps or interprets markup."""
    return Console(stderr=True, highlight=False, emoji=False, markup=False, soft_wrap=True)


def binary_stdout() -> IO[bytes]:
    """stdout as bytes, for JSON output that must not pass through a text layer."""
    return typer.get_binary_stream("stdout")


class _RootGroup(TyperGroup):
    """The root command group: the one place EiokuError becomes ``error: ...`` and exit 1."""

    def invoke(self, ctx: Any) -> Any:  # Typer's vendored click Context is private
        try:
            return super().invoke(ctx)
        except EiokuError as exc:
            message = " ".join(exc.message.split())
            stderr_console().print(f"error: {message}")
            raise typer.Exit(EXIT_USER_ERROR) from None


@dataclass
class CliState:
    """What the global options configure; the store is built on first use."""

    database_url: str | None
    _store: Store | None = None

    def store(self, *, migrated: bool = True) -> Store:
        """The store, built once; unless ``migrated`` is False, the schema must be current."""
        if self._store is None:
            url = self.database_url
            self._store = build_store(Settings() if url is None else Settings(database_url=url))
        if migrated:
            self._store.check_schema()
        return self._store

    def close(self) -> None:
        """Release pooled connections at the end of the command."""
        if self._store is not None:
            self._store.dispose()


app = typer.Typer(
    name="eioku",
    cls=_RootGroup,
    help="Eioku: every analysis of your video library as time-aligned artifacts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _configure(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="EIOKU_DATABASE_URL",
            help="sqlite:///path.db or postgresql://... "
            "(default: an SQLite file in the user data directory).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Keep the global options in the context for every subcommand."""
    state = CliState(database_url)
    ctx.obj = state
    ctx.call_on_close(state.close)


def open_store(ctx: typer.Context, *, migrated: bool = True) -> Store:
    """The store the global options name (see :meth:`CliState.store`)."""
    state: CliState = ctx.find_root().obj
    return state.store(migrated=migrated)


def selection_option(
    mode: str | None, profile: str | None, run_id: str | None = None
) -> SelectionPolicy | None:
    """The policy ``--selection``/``--profile`` ask for; None means the default policy.

    ``--profile`` alone implies ``--selection profile``; ``run_id`` is only a pin for
    ``--selection pinned``.
    """
    if mode is None and profile is None:
        return None
    chosen = mode or SelectionMode.PROFILE
    pin = run_id if chosen == SelectionMode.PINNED else None
    return make_policy(chosen, profile=profile, run_id=pin)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="eioku")


# Each command module registers its commands on ``app`` when imported.
from eioku.cli import (  # noqa: E402, F401
    artifacts,
    db,
    demo,
    io,
    library,
    navigate,
    pipeline,
    policy,
    projections,
    serve,
    worker,
)
