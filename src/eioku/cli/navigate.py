"""``eioku jump``, ``find``, ``global-jump`` and ``search``: move through videos and the library.

Each command is one read-only unit of work and one call into :mod:`eioku.search`; this
module only turns options into arguments and the answer into a line, a table, or JSON.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from eioku.cli import app, binary_stdout, open_store, selection_option, stdout_console
from eioku.cli.artifacts import payload_summary
from eioku.cli.timecodes import format_ms, parse_optional
from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidInput
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.domain.text_query import SNIPPET_CLOSE, SNIPPET_OPEN
from eioku.search.find import FindMatch, find
from eioku.search.gallery import GalleryCursor, GalleryItem, VideoCount, counts_by_video, gallery
from eioku.search.kinds import Direction, Filters
from eioku.search.navigation import jump
from eioku.search.timeline import GlobalJump, global_jump
from eioku.storage.store import UnitOfWork

KIND_HELP = "scene, transcript, object, face, place or ocr."

KindOption = Annotated[str, typer.Option("--kind", "-k", help=KIND_HELP, show_default=False)]
LabelOption = Annotated[str | None, typer.Option("--label", help="Object or place label.")]
ClusterOption = Annotated[
    str | None, typer.Option("--cluster", help="Face cluster id (kind face).")
]
TextOption = Annotated[str | None, typer.Option("--text", help="Words on screen (kind ocr).")]
QueryOption = Annotated[str | None, typer.Option("-q", "--query", help="Words said (transcript).")]
ConfidenceOption = Annotated[
    float | None,
    typer.Option("--min-confidence", help="At least this confidence, 0-1 (object/face/place/ocr)."),
]
FromOption = Annotated[
    str | None,
    typer.Option("--from", help="Start here: ms, mm:ss or hh:mm:ss.mmm (default: the edge)."),
]
PrevOption = Annotated[bool, typer.Option("--prev", help="Go backwards (default: forwards).")]
SelectionOption = Annotated[
    str | None,
    typer.Option("--selection", help="default, latest, profile, pinned, best_quality, all."),
]
ProfileOption = Annotated[str | None, typer.Option("--profile", help="For --selection profile.")]
RunOption = Annotated[str | None, typer.Option("--run", help="Pin this run (--selection pinned).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def snippet_text(snippet: str) -> Text:
    """A search snippet for the terminal: its ``<b>`` marks bold, every other character as is.

    Snippets are HTML-escaped text whose only tags are the ``<b>``/``</b>`` Eioku put in
    (:func:`~eioku.domain.text_query.render_snippet`), so splitting on them is safe. The
    pieces become styled text and are never parsed as Rich markup, so stored text like
    ``[red]`` shows as typed. (``rich.markup.escape`` is not enough: backslashes just
    before a tag still act as escapes, and three of them make Rich raise MarkupError.)
    """
    first, *marked = snippet.split(SNIPPET_OPEN)
    text = Text(html.unescape(first))
    for chunk in marked:
        word, _, rest = chunk.partition(SNIPPET_CLOSE)
        text.append(html.unescape(word), style="bold")
        text.append(html.unescape(rest))
    return text


def _filters(
    label: str | None,
    cluster: str | None,
    text: str | None,
    query: str | None,
    min_confidence: float | None,
) -> Filters:
    """The filter options; the search checks which of them apply to the kind."""
    return Filters(
        label=label,
        face_cluster_id=cluster,
        text=text,
        q=query,
        min_confidence=min_confidence,
    )


def _direction(prev: bool) -> Direction:
    return Direction.PREV if prev else Direction.NEXT


def _policy(mode: str | None, profile: str | None, run: str | None) -> SelectionPolicy | None:
    """``--run`` on its own pins that run; otherwise as :func:`selection_option`."""
    if run is not None and mode is None and profile is None:
        mode = SelectionMode.PINNED
    return selection_option(mode, profile, run)


def _write_json(value: Any) -> None:
    # Preview keys are SQLAlchemy column names (a str subclass orjson refuses by default).
    binary_stdout().write(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS) + b"\n")


def _span(start_ms: int, end_ms: int) -> dict[str, int]:
    return {"start_ms": start_ms, "end_ms": end_ms}


def _span_line(start_ms: int, end_ms: int, kind: str, artifact_ids: tuple[str, ...]) -> str:
    """``00:00:07.000 – 00:00:08.000  object  2 artifacts: a, b``."""
    noun = "artifact" if len(artifact_ids) == 1 else "artifacts"
    ids = ", ".join(artifact_ids)
    return f"{format_ms(start_ms)} – {format_ms(end_ms)}  {kind}  {len(artifact_ids)} {noun}: {ids}"


def _when(recorded_at: datetime | None) -> str:
    return "unknown" if recorded_at is None else recorded_at.isoformat()


def _preview(preview: dict[str, Any]) -> Text:
    snippet = preview.get("snippet")
    if isinstance(snippet, str):
        return snippet_text(snippet)
    return Text(payload_summary(preview))


@app.command("jump")
def jump_command(
    ctx: typer.Context,
    video: Annotated[str, typer.Argument(help="Video id.")],
    *,
    kind: KindOption,
    label: LabelOption = None,
    cluster: ClusterOption = None,
    text: TextOption = None,
    query: QueryOption = None,
    min_confidence: ConfidenceOption = None,
    from_: FromOption = None,
    prev: PrevOption = False,
    selection: SelectionOption = None,
    profile: ProfileOption = None,
    run: RunOption = None,
    as_json: JsonOption = False,
) -> None:
    """Jump to the next (or previous) scene, word, object, face, place or text in a video."""
    filters = _filters(label, cluster, text, query, min_confidence)
    policy = _policy(selection, profile, run)
    from_ms = parse_optional(from_)
    with open_store(ctx).unit_of_work(write=False) as uow:
        found = jump(
            uow,
            video,
            kind,
            _direction(prev),
            from_ms=from_ms,
            filters=filters,
            selection=policy,
        )
    if as_json:
        spans = _span(found.start_ms, found.end_ms)
        _write_json(
            {"video_id": found.video_id, "jump_to": spans, "artifact_ids": found.artifact_ids}
        )
        return
    line = _span_line(found.start_ms, found.end_ms, kind, found.artifact_ids)
    stdout_console().print(line, soft_wrap=True)


@app.command("find")
def find_command(
    ctx: typer.Context,
    video: Annotated[str, typer.Argument(help="Video id.")],
    query: Annotated[str, typer.Argument(help='Words or "a phrase" to find.')],
    *,
    source: Annotated[
        str, typer.Option("--source", help="transcript, ocr or all (merged by time).")
    ] = "all",
    from_: FromOption = None,
    prev: PrevOption = False,
    limit: Annotated[int, typer.Option("--limit", help="At most N matches (1-100).")] = 10,
    selection: SelectionOption = None,
    profile: ProfileOption = None,
    run: RunOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find words in a video's transcript and on-screen text, after (or before) a time."""
    policy = _policy(selection, profile, run)
    from_ms = parse_optional(from_)
    with open_store(ctx).unit_of_work(write=False) as uow:
        matches = find(
            uow,
            video,
            query,
            direction=_direction(prev),
            from_ms=from_ms,
            source=source,
            selection=policy,
            limit=limit,
        )
    if as_json:
        _write_json({"video_id": video, "matches": [_match_record(m) for m in matches]})
    elif not matches:
        stdout_console().print("no matches")
    else:
        stdout_console().print(_match_table(matches))


def _match_record(match: FindMatch) -> dict[str, Any]:
    return {
        "jump_to": _span(match.start_ms, match.end_ms),
        "artifact_id": match.artifact_id,
        "snippet": match.snippet,
        "source": match.source.value,
    }


def _match_table(matches: list[FindMatch]) -> Table:
    table = Table("time", "source", "snippet", "artifact")
    for match in matches:
        snippet = snippet_text(match.snippet)
        table.add_row(format_ms(match.start_ms), match.source.value, snippet, match.artifact_id)
    return table


@app.command("global-jump")
def global_jump_command(
    ctx: typer.Context,
    *,
    kind: KindOption,
    video: Annotated[
        str | None, typer.Option("--video", help="Start in this video (default: library edge).")
    ] = None,
    from_: FromOption = None,
    prev: PrevOption = False,
    label: LabelOption = None,
    cluster: ClusterOption = None,
    text: TextOption = None,
    query: QueryOption = None,
    min_confidence: ConfidenceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Jump to the next (or previous) match anywhere in the library, across videos."""
    filters = _filters(label, cluster, text, query, min_confidence)
    from_ms = parse_optional(from_)
    if from_ms is not None and video is None:
        raise InvalidInput("--from needs --video: a time is a position in one video")
    with open_store(ctx).unit_of_work(write=False) as uow:
        found = global_jump(
            uow, kind, _direction(prev), from_video_id=video, from_ms=from_ms, filters=filters
        )
    if as_json:
        _write_json(_global_record(found))
    else:
        _print_global(found, kind, prev)


def _global_record(found: GlobalJump) -> dict[str, Any]:
    """SPEC §7's fields; ``artifact_id`` is the first of the tied ``artifact_ids``."""
    return {
        "video_id": found.video_id,
        "filename": found.filename,
        "recorded_at": found.recorded_at,
        "jump_to": _span(found.start_ms, found.end_ms),
        "artifact_id": found.artifact_ids[0],
        "artifact_ids": found.artifact_ids,
        "preview": found.preview,
        "has_more": found.has_more,
    }


def _print_global(found: GlobalJump, kind: str, prev: bool) -> None:
    console = stdout_console()
    console.print(f"{found.video_id}  {found.filename}", soft_wrap=True)
    console.print(f"recorded: {_when(found.recorded_at)}", soft_wrap=True)
    line = _span_line(found.start_ms, found.end_ms, kind, found.artifact_ids)
    console.print(line, soft_wrap=True)
    console.print(Text.assemble("preview: ", _preview(found.preview)), soft_wrap=True)
    if not found.has_more:
        console.print("more: no", soft_wrap=True)
        return
    resume = format_ms(found.end_ms if prev else found.start_ms)
    flags = f"--video {found.video_id} --from {resume}" + (" --prev" if prev else "")
    console.print(f"more: yes (continue with {flags})", soft_wrap=True)


@app.command("search")
def search_command(
    ctx: typer.Context,
    *,
    kind: KindOption,
    label: LabelOption = None,
    cluster: ClusterOption = None,
    text: TextOption = None,
    query: QueryOption = None,
    min_confidence: ConfidenceOption = None,
    filename: Annotated[
        str | None, typer.Option("--filename", help="Only videos whose file name contains this.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most N per page (1-500).")] = 50,
    after: Annotated[
        str | None, typer.Option("--after", help="The cursor a previous page printed.")
    ] = None,
    by_video: Annotated[
        bool, typer.Option("--by-video", help="Count matches per video instead.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Every match of a kind across the library, in timeline order, page by page."""
    filters = _filters(label, cluster, text, query, min_confidence)
    store = open_store(ctx)
    if by_video:
        video_after = None if after is None else video_cursor(after)
        with store.unit_of_work(write=False) as uow:
            counts, last_video = _count_page(
                uow, kind, filters=filters, filename=filename, limit=limit, after=video_after
            )
        _show_counts(counts, _token(last_video), as_json=as_json)
        return
    item_after = None if after is None else gallery_cursor(after)
    with store.unit_of_work(write=False) as uow:
        items, last_item = _gallery_page(
            uow, kind, filters=filters, filename=filename, limit=limit, after=item_after
        )
    _show_items(items, _token(last_item), as_json=as_json)


def _gallery_page(
    uow: UnitOfWork,
    kind: str,
    *,
    filters: Filters,
    filename: str | None,
    limit: int,
    after: GalleryCursor | None,
) -> tuple[list[GalleryItem], GalleryCursor | None]:
    """One page, and the cursor after it when another page exists."""
    items = gallery(uow, kind, filters=filters, filename=filename, limit=limit, after=after)
    if len(items) < limit:
        return items, None
    last = items[-1].cursor
    beyond = gallery(uow, kind, filters=filters, filename=filename, limit=1, after=last)
    return items, last if beyond else None


def _count_page(
    uow: UnitOfWork,
    kind: str,
    *,
    filters: Filters,
    filename: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> tuple[list[VideoCount], tuple[datetime, str] | None]:
    """One page of per-video counts, and the cursor after it when another page exists."""
    counts = counts_by_video(
        uow, kind, filters=filters, filename=filename, limit=limit, after=after
    )
    if len(counts) < limit:
        return counts, None
    video = uow.videos.get(counts[-1].video_id)
    last = (video.timeline_at, video.video_id)
    beyond = counts_by_video(uow, kind, filters=filters, filename=filename, limit=1, after=last)
    return counts, last if beyond else None


def _show_items(items: list[GalleryItem], token: str | None, *, as_json: bool) -> None:
    if as_json:
        _write_json({"items": [_item_record(item) for item in items], "next_cursor": token})
        return
    if not items:
        stdout_console().print("no matches")
        return
    table = Table("video", "filename", "recorded", "time", "artifact", "preview")
    for item in items:
        when = format_ms(item.start_ms)
        row = [item.video_id, item.filename, _when(item.recorded_at), when, item.artifact_id]
        table.add_row(*row, _preview(item.preview))
    stdout_console().print(table)
    _print_hint(token)


def _item_record(item: GalleryItem) -> dict[str, Any]:
    return {
        "video_id": item.video_id,
        "filename": item.filename,
        "recorded_at": item.recorded_at,
        "jump_to": _span(item.start_ms, item.end_ms),
        "artifact_id": item.artifact_id,
        "preview": item.preview,
    }


def _show_counts(counts: list[VideoCount], token: str | None, *, as_json: bool) -> None:
    if as_json:
        videos = [_count_record(count) for count in counts]
        _write_json({"videos": videos, "next_cursor": token})
        return
    if not counts:
        stdout_console().print("no matches")
        return
    table = Table("video", "filename", "recorded", "matches")
    for c in counts:
        table.add_row(c.video_id, c.filename, _when(c.recorded_at), str(c.count))
    stdout_console().print(table)
    _print_hint(token)


def _count_record(count: VideoCount) -> dict[str, Any]:
    return {
        "video_id": count.video_id,
        "filename": count.filename,
        "recorded_at": count.recorded_at,
        "count": count.count,
    }


def _print_hint(token: str | None) -> None:
    if token is not None:
        stdout_console().print(f"more: next page with --after {token}", soft_wrap=True)


# -- Page cursors: the keyset position, as an opaque token a shell passes back unquoted --------


def encode_cursor(position: tuple[Any, ...]) -> str:
    """URL-safe base64 of the position as JSON (datetimes in ISO form), without padding."""
    raw = orjson.dumps([v.isoformat() if isinstance(v, datetime) else v for v in position])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _token(position: tuple[Any, ...] | None) -> str | None:
    return None if position is None else encode_cursor(position)


def gallery_cursor(token: str) -> GalleryCursor:
    """The gallery position a page's ``--after`` token names, or InvalidInput."""
    match _decoded(token):
        case [str(at), str(video_id), int(ms), str(artifact_id)] if 0 <= ms <= INT64_MAX:
            return (_instant(at, token), video_id, ms, artifact_id)
    raise _bad_cursor(token)


def video_cursor(token: str) -> tuple[datetime, str]:
    """The per-video position a ``--by-video`` page's token names, or InvalidInput."""
    match _decoded(token):
        case [str(at), str(video_id)]:
            return (_instant(at, token), video_id)
    raise _bad_cursor(token)


def _decoded(token: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:  # binascii.Error and orjson.JSONDecodeError both are
        raise _bad_cursor(token) from None


def _instant(text: str, token: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_cursor(token) from None
    if when.tzinfo is None:
        raise _bad_cursor(token)
    return when


def _bad_cursor(token: str) -> InvalidInput:
    return InvalidInput(f"invalid cursor {token!r}: pass the --after value a search printed")
