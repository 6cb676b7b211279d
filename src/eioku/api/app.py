"""The FastAPI application factory: routers, error mapping, body limit, store lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eioku import __version__
from eioku.api.errors import error_response, install_error_handling
from eioku.api.routers import ROUTERS
from eioku.bootstrap import build_store
from eioku.config import Settings
from eioku.storage.store import Store

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Every analysis of a video library as time-aligned artifacts (speech, shots, objects, faces,
places, on-screen text), with selection policies choosing which run's results readers see.

Every error answers with `{"error", "message", "details", "timestamp"}`.
"""


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The API application.

    Args:
        settings: the configuration (cache directory, body limit, database URL).
        store: the store to serve; when None one is built from ``settings`` and disposed
            when the application shuts down. A store passed in stays the caller's.
    """
    served = build_store(settings) if store is None else store
    owned = store is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                served.dispose()

    app = _EiokuAPI(
        title="Eioku",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.store = served
    install_error_handling(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _operation_id(route: APIRoute) -> str:
    """Operation ids are the route names (``list_videos``): short names for API clients."""
    return route.name


class _EiokuAPI(FastAPI):
    """FastAPI whose OpenAPI document states the 400 this API really answers, not 422."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            _drop_422(schema)
        return self.openapi_schema or {}


def _drop_422(schema: dict[str, Any]) -> None:
    """Remove FastAPI's default 422 responses: validation errors are 400 here (errors.py)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


class BodyLimitMiddleware:
    """Reject request bodies over ``max_bytes`` with 413 before they fill memory.

    A declared Content-Length is checked up front; a chunked body is counted as it
    arrives and stopped once over the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, self._message())
            return message

        await self.app(scope, counting_receive, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    def _too_large(self) -> ASGIApp:
        return error_response(413, "payload_too_large", self._message())
