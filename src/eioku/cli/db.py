"""``eioku db``: create, migrate and inspect the database schema."""

from __future__ import annotations

import typer

from eioku.cli import app, open_store, stdout_console
from eioku.storage import migrations
from eioku.storage.errors import translated
from eioku.storage.store import Store

db_app = typer.Typer(help="Create, migrate and inspect the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _revisions(store: Store) -> tuple[str | None, str | None]:
    with translated("read the schema revision"):
        return migrations.current_revision(store.engine), migrations.head_revision(store.engine)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Create the schema, or migrate it to the newest revision."""
    store = open_store(ctx, migrated=False)
    store.upgrade()
    current, _head = _revisions(store)
    stdout_console().print(f"database ({store.dialect}) at revision {current}")


@db_app.command("current")
def current(ctx: typer.Context) -> None:
    """Print the schema revision and whether it is the newest this Eioku knows."""
    store = open_store(ctx, migrated=False)
    revision, head = _revisions(store)
    if revision == head:
        stdout_console().print(f"{revision} (head)")
    else:
        stdout_console().print(f"{revision or 'none'} (head is {head}: run 'eioku db upgrade')")
