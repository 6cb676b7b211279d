"""Serving media files with HTTP Range support, errors in the API's standard body.

Starlette's FileResponse already implements Range fully (single, suffix, open-ended and
multiple ranges as multipart/byteranges, If-Range, HEAD, 416 with ``Content-Range:
bytes */size``). Two things are adjusted here: a Range in a unit other than bytes is
ignored (RFC 9110 §14.2 says a server MUST ignore such a header, Starlette answers 400),
and the 400/416 answers it writes as plain text get the standard JSON error body.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import FileResponse
from starlette.types import Message, Receive, Scope, Send

from eioku.api.errors import error_response, http_error_code

_REWRITTEN = {
    400: "invalid Range header: expected bytes=start-end[, ...]",
    416: "requested range not satisfiable",
}


class MediaFileResponse(FileResponse):
    """A media file shown inline, with Range requests answered per RFC 9110."""

    def __init__(self, path: str, *, media_type: str, filename: str | None = None) -> None:
        super().__init__(
            path, media_type=media_type, filename=filename, content_disposition_type="inline"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _byte_range(scope):
            scope = _without_range(scope)
        rewriter = _ErrorRewriter(send, scope)
        await super().__call__(scope, receive, rewriter)


def _byte_range(scope: Scope) -> bool:
    """True unless the request has a Range header in a unit other than ``bytes``."""
    value = Headers(scope=scope).get("range")
    return value is None or value.split("=", 1)[0].strip().lower() == "bytes"


def _without_range(scope: Scope) -> Scope:
    headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"range"]
    return {**scope, "headers": headers}


class _ErrorRewriter:
    """An ASGI ``send`` that replaces Starlette's plain-text 400/416 with the standard body."""

    def __init__(self, send: Send, scope: Scope) -> None:
        self._send = send
        self._scope = scope
        self._swallowing = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] in _REWRITTEN:
            self._swallowing = True
            await self._replace(message)
            return
        if self._swallowing:  # the plain-text body of the replaced response
            return
        await self._send(message)

    async def _replace(self, start: Message) -> None:
        status = int(start["status"])
        kept = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in start.get("headers", [])
            if key.lower() == b"content-range"
        }
        response = error_response(status, http_error_code(status), _REWRITTEN[status], None, kept)
        await response(self._scope, _no_receive, self._send)


async def _no_receive() -> Message:  # the replacement response never reads the request
    return {"type": "http.disconnect"}
