"""``eioku worker``: execute runs queued in PostgreSQL, on this machine (SPEC §9).

Start as many as the machines have room for, anywhere that reaches the database and sees
the media files (``EIOKU_PATH_MAP`` when they are mounted elsewhere). See docs/workers.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Annotated

import typer

from eioku.bootstrap import build_dispatcher, build_worker_config, uses_workers
from eioku.cli import app, open_store, stderr_console
from eioku.config import Settings
from eioku.domain.errors import InvalidInput
from eioku.pipeline.watching import start_watching
from eioku.pipeline.worker import WorkerService


def _queues(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise InvalidInput("--queues names no queue (e.g. --queues eioku,gpu)")
    return names


@app.command("worker")
def worker(
    ctx: typer.Context,
    queues: Annotated[
        str | None,
        typer.Option(help="Comma-separated queues to take jobs from (default: every queue)."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Jobs executed at once by this process.")
    ] = 1,
    name: Annotated[
        str | None, typer.Option(help="Name in logs (default: host and process id).")
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Also follow the watched library sources and queue their new files "
            "(one process per library is enough).",
        ),
    ] = False,
) -> None:
    """Execute queued runs (PostgreSQL only); stop with Ctrl-C or SIGTERM."""
    chosen = _queues(queues)
    state_url = ctx.find_root().obj.database_url
    settings = Settings() if state_url is None else Settings(database_url=state_url)
    store = open_store(ctx, migrated=False)
    if store.dialect != "postgresql":
        raise InvalidInput(
            "workers need PostgreSQL (set EIOKU_DATABASE_URL=postgresql://...); "
            "with SQLite, runs execute locally in 'eioku ingest' and the server"
        )
    if not uses_workers(settings, store):
        stderr_console().print("note: EIOKU_EXECUTOR=local: nothing queues runs for workers")
    label = name or f"{socket.gethostname()}-{os.getpid()}"
    config = build_worker_config(settings, queues=chosen, concurrency=concurrency, name=label)
    service = WorkerService(config)
    service.check()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    where = ", ".join(chosen) if chosen else "every queue"
    stderr_console().print(f"worker {label}: taking jobs from {where} (concurrency {concurrency})")
    watcher = (
        start_watching(store, settings, build_dispatcher(settings, store).submit) if watch else None
    )
    try:
        asyncio.run(service.serve())
    finally:
        if watcher is not None:
            watcher.stop()
