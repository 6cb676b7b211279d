"""Dependencies the routers share: the store, a unit of work per request, selection, paging.

:data:`SelectionParams` is the one way an endpoint takes a selection policy from the query
string (``selection``, ``profile``, ``pinned_run_id``, ``pinned_artifact_id``), so every
read path documents and validates it identically::

    @router.get("/videos/{video_id}/jump")
    async def jump(video_id: VideoId, uow: LookupUnitOfWork, selection: SelectionParams) -> ...:
        return navigation.jump(uow, video_id, ..., selection=selection)  # None: default

Bad combinations (a profile with ``selection=latest``, ``pinned`` without a pin) are 400.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, cast

import orjson
from fastapi import Depends, Query, Request
from fastapi import Path as PathParam

from eioku.config import Settings
from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidQuery
from eioku.domain.profiles import ModelProfile
from eioku.domain.selection import SelectionMode, SelectionPolicy, make_policy
from eioku.storage.store import Store, UnitOfWork

# Ids and names are free text, but never with NUL (no database stores it faithfully).
TEXT_PATTERN = r"^[^\x00]+$"
MAX_TEXT = 1024
MAX_CURSOR = 4096


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in
# its thread pool, a hand-off to a worker thread and back for every request.


async def get_store(request: Request) -> Store:
    """The application's store (``app.state.store``)."""
    return cast(Store, request.app.state.store)


async def get_settings(request: Request) -> Settings:
    """The settings the application was created with."""
    return cast(Settings, request.app.state.settings)


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _read_unit_of_work(store: StoreDep) -> Iterator[UnitOfWork]:
    with store.unit_of_work(write=False) as uow:
        yield uow


def _write_unit_of_work(store: StoreDep) -> Iterator[UnitOfWork]:
    with store.unit_of_work() as uow:
        yield uow


async def _lookup_unit_of_work(store: StoreDep) -> AsyncIterator[UnitOfWork]:
    with store.lookup() as uow:
        yield uow


# scope="function": the transaction ends (commits or rolls back) before the response is
# sent, so a failed commit is reported to the client instead of after a 2xx.
ReadUnitOfWork = Annotated[UnitOfWork, Depends(_read_unit_of_work, scope="function")]
WriteUnitOfWork = Annotated[UnitOfWork, Depends(_write_unit_of_work, scope="function")]
LookupUnitOfWork = Annotated[UnitOfWork, Depends(_lookup_unit_of_work, scope="function")]
"""A read unit of work opened on the event loop, for ``async def`` routes whose whole
database work is a few index lookups (jump, find, global jump: about a millisecond).

Such a route blocks the loop for that long, which costs less than the thread pool's
hand-offs (a plain ``def`` route and its generator dependency make three or four, each a
wake-up of another thread). Anything that may read many rows uses :data:`ReadUnitOfWork`
from a plain ``def`` route instead.
"""


def _text_path(description: str) -> Any:
    return PathParam(
        description=description, min_length=1, max_length=MAX_TEXT, pattern=TEXT_PATTERN
    )


def text_query(description: str, *, alias: str | None = None) -> Any:
    """An optional free-text query parameter (non-empty, no NUL, at most 1024 characters)."""
    return Query(
        description=description,
        alias=alias,
        min_length=1,
        max_length=MAX_TEXT,
        pattern=TEXT_PATTERN,
    )


def millis_query(description: str) -> Any:
    """A time query parameter: milliseconds from the video start, 0 to 2**63-1."""
    return Query(description=description, ge=0, le=INT64_MAX)


VideoId = Annotated[str, _text_path("Video id.")]
RunId = Annotated[str, _text_path("Run id.")]
ArtifactId = Annotated[str, _text_path("Artifact id.")]
ArtifactType = Annotated[str, _text_path("Artifact type, e.g. `transcript.segment`.")]
Cursor = Annotated[
    str | None,
    Query(
        description="Opaque cursor from a previous page's `next_cursor`.",
        min_length=1,
        max_length=MAX_CURSOR,
    ),
]


async def selection_params(
    selection: Annotated[
        SelectionMode,
        Query(
            description="Which runs' artifacts to read (SPEC §5). `default` is the stored "
            "policy for (video, type), else `latest`; `profile` alone implies "
            "`selection=profile`."
        ),
    ] = SelectionMode.DEFAULT,
    profile: Annotated[
        ModelProfile | None, Query(description="Profile for `selection=profile`.")
    ] = None,
    pinned_run_id: Annotated[
        str | None, text_query("Run whose artifacts `selection=pinned` returns.")
    ] = None,
    pinned_artifact_id: Annotated[
        str | None, text_query("Pin the run that made this artifact (`selection=pinned`).")
    ] = None,
) -> SelectionPolicy | None:
    """The selection policy a request asks for; None means the default policy.

    Raises:
        InvalidQuery: see :func:`build_policy`.
    """
    policy = build_policy(selection, profile, pinned_run_id, pinned_artifact_id)
    return None if policy.mode is SelectionMode.DEFAULT else policy


def build_policy(
    mode: SelectionMode,
    profile: ModelProfile | None,
    pinned_run_id: str | None,
    pinned_artifact_id: str | None,
) -> SelectionPolicy:
    """A policy from client input; a profile with mode ``default`` means mode ``profile``.

    Raises:
        InvalidQuery: a setting that does not belong to the mode (a profile with
            ``latest``, a pin with ``profile``), or a mode missing the setting it needs.
    """
    if profile is not None and mode is SelectionMode.DEFAULT:
        mode = SelectionMode.PROFILE
    if profile is not None and mode is not SelectionMode.PROFILE:
        raise InvalidQuery(f"a profile applies only to selection mode profile, not {mode.value}")
    if (pinned_run_id or pinned_artifact_id) and mode is not SelectionMode.PINNED:
        raise InvalidQuery(f"pinned ids apply only to selection mode pinned, not {mode.value}")
    return make_policy(mode, profile=profile, run_id=pinned_run_id, artifact_id=pinned_artifact_id)


SelectionParams = Annotated[SelectionPolicy | None, Depends(selection_params)]
"""A route parameter of this type takes the selection policy from the query string."""


def encode_cursor(*values: int | str) -> str:
    """An opaque page cursor: the keyset values of the last row, as base64url JSON."""
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *kinds: type[int] | type[str]) -> list[Any]:
    """The keyset values of a cursor, checked against the expected ``kinds``.

    Raises:
        InvalidQuery: the cursor was not made by :func:`encode_cursor` for this listing.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (ValueError, binascii.Error):
        raise InvalidQuery("invalid cursor", details={"cursor": cursor}) from None
    if not _matches(values, kinds):
        raise InvalidQuery("invalid cursor", details={"cursor": cursor})
    return cast(list[Any], values)


def _matches(values: object, kinds: tuple[type[int] | type[str], ...]) -> bool:
    if not isinstance(values, list) or len(values) != len(kinds):
        return False
    for value, kind in zip(values, kinds, strict=True):
        if isinstance(value, bool) or not isinstance(value, kind):
            return False
        if isinstance(value, int) and not 0 <= value <= INT64_MAX:
            return False
        if isinstance(value, str) and not (0 < len(value) <= MAX_TEXT and "\x00" not in value):
            return False
    return True
