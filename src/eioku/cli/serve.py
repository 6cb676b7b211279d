"""``eioku serve``: run the HTTP API (and its docs) with uvicorn."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from eioku.api.app import create_app
from eioku.api.routers.pipeline import app_dispatcher
from eioku.cli import CliState, app, open_store, stdout_console
from eioku.config import Settings
from eioku.pipeline.watching import start_watching

# Listening on every interface: show the loopback address a local browser can open.
_ANY_INTERFACE = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def base_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses; IPv6 hosts get brackets."""
    shown = _ANY_INTERFACE.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    watch: Annotated[
        bool,
        typer.Option("--watch/--no-watch", help="Follow the watched library sources."),
    ] = True,
) -> None:
    """Serve the API under /v1, its OpenAPI document and interactive docs.

    The database schema must be current: run 'eioku db upgrade' first.
    """
    import uvicorn

    store = open_store(ctx)  # checks the schema revision: one-line error if behind
    state: CliState = ctx.find_root().obj
    settings = (
        Settings() if state.database_url is None else Settings(database_url=state.database_url)
    )
    url = base_url(host, port)
    console = stdout_console()
    console.print(f"Eioku API ({store.dialect}) on {url}/v1")
    console.print(f"API docs: {url}/docs  OpenAPI: {url}/openapi.json")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /health reads the revision
    api = create_app(settings, store=store)
    watching = (
        start_watching(store, settings, app_dispatcher(api, settings, store).submit)
        if watch
        else None
    )
    try:
        uvicorn.run(api, host=host, port=port)
    finally:
        if watching is not None:
            watching.stop()
