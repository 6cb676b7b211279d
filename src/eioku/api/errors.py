"""The one place errors become HTTP responses, all with the same body (SPEC §8).

``{"error": code, "message": str, "details": object | null, "timestamp": iso8601}`` for
the library's error tree, request validation, Starlette's own HTTP errors (unknown route,
405, 413, 416) and, as ``internal_error``, anything unexpected.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eioku.api.models import Timestamp
from eioku.domain.errors import (
    Conflict,
    EiokuError,
    InvalidInput,
    InvalidQuery,
    NotFound,
    ProducerUnavailable,
    RunStateError,
    SchemaNotFoundError,
    SchemaRegistrationError,
    SchemaValidationError,
    StorageError,
)

logger = logging.getLogger(__name__)

# Every class of the tree, by name: tests/api/test_errors.py checks none is missing, so a
# new error kind cannot silently become a 500.
STATUS_BY_ERROR: dict[type[EiokuError], int] = {
    EiokuError: 500,
    NotFound: 404,
    Conflict: 409,
    RunStateError: 409,
    InvalidInput: 400,
    InvalidQuery: 400,
    SchemaNotFoundError: 400,
    SchemaValidationError: 400,
    SchemaRegistrationError: 500,
    ProducerUnavailable: 503,
    StorageError: 503,
}

# Codes for Starlette's own HTTP errors; others use the status phrase in snake case.
CODE_BY_STATUS = {
    400: "invalid_input",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    416: "range_not_satisfiable",
}


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for people.")
    details: dict[str, Any] | None = Field(
        description="Structured context (field errors, ids), or null."
    )
    timestamp: Timestamp = Field(description="When the error happened (ISO 8601, UTC).")


def status_for(exc: EiokuError) -> int:
    """The HTTP status of an error: its nearest class in the tree that has one."""
    for kind in type(exc).__mro__:
        if issubclass(kind, EiokuError) and kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 500


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A response with the standard error body."""
    body = ErrorBody(error=code, message=message, details=details, timestamp=datetime.now(UTC))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def http_error_code(status: int) -> str:
    """The error code for a bare HTTP status (Starlette's own errors)."""
    if status in CODE_BY_STATUS:
        return CODE_BY_STATUS[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


async def _eioku_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EiokuError)
    status = status_for(exc)
    if status >= 500:
        logger.error("%s: %s", type(exc).__name__, exc.message, exc_info=exc)
    return error_response(status, exc.code, exc.message, exc.details)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())) or "(request)",
            "message": str(error.get("msg", "invalid value")),
        }
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"field": "(request)", "message": "invalid request"}
    message = f"invalid request: {first['field']}: {first['message']}"
    return error_response(400, "invalid_input", message, {"errors": errors})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(
        exc.status_code, http_error_code(exc.status_code), str(exc.detail), headers=headers
    )


class InternalErrorMiddleware:
    """Turns an unexpected exception into a logged 500 ``internal_error`` response.

    A middleware rather than an ``Exception`` handler: Starlette re-raises after running
    such a handler, which would log every fault twice.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if started:
                raise
            response = error_response(500, "internal_error", "internal server error")
            await response(scope, receive, send)


def install_error_handling(app: FastAPI) -> None:
    """Register the handlers and the fault middleware on ``app``."""
    app.add_exception_handler(EiokuError, _eioku_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(InternalErrorMiddleware)


_DESCRIBED: dict[int, str] = {
    400: "Invalid input; field errors in `details.errors` (or `details.items` for uploads).",
    404: "Not found.",
    409: "Conflicts with what is stored.",
    413: "Request body too large.",
    416: "Range not satisfiable.",
    503: "The database or a media decoder is unavailable.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses, all with :class:`ErrorBody`.

    Declaring them lets clients and schemathesis know every error body's shape.
    """
    return {status: {"model": ErrorBody, "description": _DESCRIBED[status]} for status in statuses}
