"""``eioku jump``, ``find``, ``global-jump`` and ``search`` on a small library, on both engines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from typer.testing import Result

from eioku.cli.navigate import encode_cursor, snippet_text
from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run
from eioku.storage.store import Store
from tests.cli.conftest import Cli, user_error
from tests.factories import EPOCH, later, make_artifact, make_run, make_video, sample_payload

INJECTED = "the dog jumped over the [red]fence[/red] & <b>gate</b>"


@dataclass(frozen=True)
class Nav:
    """Marker that the navigation library is loaded (ids are the literals used below)."""

    videos: tuple[str, ...]


def artifact(
    run: Run, artifact_type: str, artifact_id: str, start: int, end: int, **fields: Any
) -> ArtifactEnvelope:
    payload = sample_payload(artifact_type) | fields
    return make_artifact(
        run, artifact_type, start=start, end=end, payload=payload, artifact_id=artifact_id
    )


def build_library(store: Store) -> Nav:
    """Three videos on the timeline: first.mp4, then "second ☕.mp4", then third.mp4.

    vid-1 has an older fast run (one dog at 9 s) and a later balanced run, the default
    selection, holding every kind: a cat and a dog both starting at 7 s (a tie), scenes
    from 0 ms, a transcript line whose text looks like Rich and HTML markup, and OCR.
    vid-2 has a dog and a spoken "dog"; vid-3 (no recording date) one place at 0 ms.
    """
    videos = [
        make_video("vid-1", filename="first.mp4", recorded_at=EPOCH),
        make_video("vid-2", filename="second ☕.mp4", recorded_at=later(60)),
        make_video("vid-3", filename="third.mp4", file_mtime=later(120)),
    ]
    fast = make_run("vid-1", run_id="r1-fast", profile=ModelProfile.FAST)
    main = make_run("vid-1", run_id="r1", started_at=later(10))
    second = make_run("vid-2", run_id="r2")
    third = make_run("vid-3", run_id="r3")
    obj, face, place = "object.detection", "face.detection", "place.classification"
    found = [
        artifact(fast, obj, "dog-fast", 9000, 9500, label="dog", confidence=0.6),
        artifact(main, obj, "dog-1", 2000, 3000, label="dog", confidence=0.9),
        artifact(main, obj, "cat-1", 7000, 7500, label="cat", confidence=0.4),
        artifact(main, obj, "dog-2", 7000, 8000, label="dog", confidence=0.8),
        artifact(main, face, "face-1", 1000, 1500, cluster_id="person-1"),
        artifact(main, face, "face-2", 4000, 4500, cluster_id="person-2"),
        artifact(main, "transcript.segment", "tr-1", 1000, 2500, text=INJECTED),
        artifact(main, "transcript.segment", "tr-2", 5000, 6000, text="a cat walked"),
        artifact(main, "ocr.text", "ocr-1", 3000, 4000, text="invoice 42 for the dog"),
        artifact(main, "scene", "scene-0", 0, 5000, scene_index=0),
        artifact(main, "scene", "scene-1", 5000, 10000, scene_index=1),
        artifact(main, place, "place-1", 0, 10000, label="kitchen"),
        artifact(second, obj, "dog-3", 500, 1500, label="dog", confidence=0.95),
        artifact(second, "transcript.segment", "tr-3", 2000, 3000, text="my dog plays"),
        artifact(third, place, "place-2", 0, 1000, label="beach"),
    ]
    with store.unit_of_work() as uow:
        for video in videos:
            uow.videos.add(video)
        for run in (fast, main, second, third):
            uow.runs.create(run)
        uow.artifacts.batch_create(found)
    return Nav(tuple(video.video_id for video in videos))


@pytest.fixture
def nav(store: Store) -> Nav:
    return build_library(store)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout_bytes)


def lines(result: Result) -> list[str]:
    return [line.rstrip() for line in ok(result).splitlines()]


def rows_with(output: str, *cells: str) -> list[str]:
    return [line for line in output.splitlines() if all(cell in line for cell in cells)]


def cells(row: str) -> list[str]:
    """The cells of one line of a Rich table."""
    return [cell.strip() for cell in row.split("│")[1:-1]]


# -- jump ----------------------------------------------------------------------------------


def test_jump_prints_span_kind_and_every_tied_artifact(cli: Cli, nav: Nav) -> None:
    result = cli("jump", "vid-1", "--kind", "object", "--from", "00:00:05.000")
    assert lines(result) == ["00:00:07.000 – 00:00:08.000  object  2 artifacts: cat-1, dog-2"]


def test_jump_without_from_starts_at_the_beginning(cli: Cli, nav: Nav) -> None:
    result = cli("jump", "vid-1", "--kind", "object")
    assert lines(result) == ["00:00:02.000 – 00:00:03.000  object  1 artifact: dog-1"]
    scene = cli("jump", "vid-1", "--kind", "scene")
    assert lines(scene) == ["00:00:00.000 – 00:00:05.000  scene  1 artifact: scene-0"]


def test_jump_json_has_the_api_shape(cli: Cli, nav: Nav) -> None:
    found = as_json(cli("jump", "vid-1", "--kind", "object", "--from", "5000", "--json"))
    assert found == {
        "video_id": "vid-1",
        "jump_to": {"start_ms": 7000, "end_ms": 8000},
        "artifact_ids": ["cat-1", "dog-2"],
    }


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (None, ["dog-2"]),
        ("9000", ["dog-2"]),
        ("7500", ["dog-1"]),
        ("00:00:07.501", ["cat-1"]),
    ],
)
def test_jump_prev_returns_the_latest_end_before_from(
    cli: Cli, nav: Nav, start: str | None, expected: list[str]
) -> None:
    args = ["--from", start] if start is not None else []
    found = as_json(cli("jump", "vid-1", "--kind", "object", "--prev", *args, "--json"))
    assert found["artifact_ids"] == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kind", "object", "--label", "cat"], ("cat-1", 7000)),
        (["--kind", "object", "--label", "dog", "--from", "2000"], ("dog-2", 7000)),
        (["--kind", "object", "--min-confidence", "0.5", "--from", "5000"], ("dog-2", 7000)),
        (["--kind", "face", "--cluster", "person-2"], ("face-2", 4000)),
        (["--kind", "transcript", "-q", "cat"], ("tr-2", 5000)),
        (["--kind", "transcript", "--query", "jumping dogs"], ("tr-1", 1000)),
        (["--kind", "ocr", "--text", "invoice"], ("ocr-1", 3000)),
        (["--kind", "scene", "--from", "0"], ("scene-1", 5000)),
        (["--kind", "place", "--label", "kitchen", "--min-confidence", "0.5"], ("place-1", 0)),
    ],
)
def test_jump_applies_the_filters_of_each_kind(
    cli: Cli, nav: Nav, args: list[str], expected: tuple[str, int]
) -> None:
    found = as_json(cli("jump", "vid-1", *args, "--json"))
    assert (found["artifact_ids"], found["jump_to"]["start_ms"]) == ([expected[0]], expected[1])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "dog-1"),
        (["--profile", "fast"], "dog-fast"),
        (["--selection", "profile", "--profile", "fast"], "dog-fast"),
        (["--run", "r1-fast"], "dog-fast"),
        (["--selection", "pinned", "--run", "r1-fast"], "dog-fast"),
        (["--selection", "latest"], "dog-1"),
        (["--selection", "all", "--from", "8000"], "dog-fast"),
    ],
)
def test_jump_honours_the_requested_selection(
    cli: Cli, nav: Nav, args: list[str], expected: str
) -> None:
    found = as_json(cli("jump", "vid-1", "--kind", "object", *args, "--json"))
    assert found["artifact_ids"] == [expected]


def test_jump_with_nothing_there_is_a_one_line_error(cli: Cli, nav: Nav) -> None:
    message = user_error(cli("jump", "vid-1", "--kind", "object", "--from", "7000"))
    assert message == "error: no next object in video vid-1"
    message = user_error(cli("jump", "vid-1", "--kind", "scene", "--prev", "--from", "0"))
    assert message == "error: no prev scene in video vid-1"
    empty = user_error(cli("jump", "vid-1", "--kind", "transcript", "-q", "..."))
    assert empty == "error: no next transcript in video vid-1"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["vid-1", "--kind", "dragon"], "error: unknown kind 'dragon': use one of scene, "),
        (["vid-1", "--kind", "object", "--from", "soon"], "error: invalid time 'soon': use "),
        (["vid-1", "--kind", "object", "--from", "-1"], "error: invalid time '-1': must not"),
        (["vid-1", "--kind", "scene", "--label", "dog"], "error: filter 'label' does not apply"),
        (["vid-1", "--kind", "object", "--cluster", "p"], "error: filter 'face_cluster_id' "),
        (["vid-1", "--kind", "object", "-q", "dog"], "error: filter 'q' does not apply to kind"),
        (["vid-1", "--kind", "transcript", "--text", "x"], "error: filter 'text' does not apply"),
        (["vid-1", "--kind", "scene", "--min-confidence", "0.5"], "error: filter 'min_conf"),
        (["vid-1", "--kind", "object", "--min-confidence", "2"], "error: min_confidence must"),
        (["nope", "--kind", "object"], "error: video nope not found"),
        (["vid-1", "--kind", "object", "--selection", "newest"], "error: invalid selection"),
        (["vid-1", "--kind", "object", "--run", "r2"], "error: pinned run r2 is not a run of"),
    ],
)
def test_jump_user_errors_are_one_line(cli: Cli, nav: Nav, args: list[str], expected: str) -> None:
    assert user_error(cli("jump", *args)).startswith(expected)


# -- find ----------------------------------------------------------------------------------


def test_find_prints_a_table_of_time_source_snippet_and_artifact(cli: Cli, nav: Nav) -> None:
    output = ok(cli("find", "vid-1", "dog"))
    [transcript] = rows_with(output, "00:00:01.000", "transcript", "tr-1")
    [ocr] = rows_with(output, "00:00:03.000", "ocr", "ocr-1")
    assert output.index(transcript) < output.index(ocr)
    assert cells(ocr) == ["00:00:03.000", "ocr", "invoice 42 for the dog", "ocr-1"]


def test_find_shows_stored_text_literally_never_as_markup(cli: Cli, nav: Nav) -> None:
    [row] = rows_with(ok(cli("find", "vid-1", "fence")), "tr-1")
    assert "[red]fence[/red] & <b>gate" in row


def test_find_json_has_the_api_shape(cli: Cli, nav: Nav) -> None:
    found = as_json(cli("find", "vid-1", "dog", "--json"))
    assert found["video_id"] == "vid-1"
    first, second = found["matches"]
    assert set(first) == {"jump_to", "artifact_id", "snippet", "source"}
    assert first["jump_to"] == {"start_ms": 1000, "end_ms": 2500}
    assert (first["artifact_id"], first["source"]) == ("tr-1", "transcript")
    assert "<b>dog</b>" in first["snippet"]
    assert "[red]fence[/red] &amp; &lt;b&gt;gate&lt;/b" in first["snippet"]
    assert (second["artifact_id"], second["source"]) == ("ocr-1", "ocr")
    assert second["snippet"] == "invoice 42 for the <b>dog</b>"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["tr-1", "ocr-1"]),
        (["--from", "1000"], ["ocr-1"]),
        (["--prev"], ["ocr-1", "tr-1"]),
        (["--prev", "--from", "00:00:03.000"], ["tr-1"]),
        (["--source", "transcript"], ["tr-1"]),
        (["--source", "ocr"], ["ocr-1"]),
        (["--limit", "1"], ["tr-1"]),
        (["--prev", "--limit", "1"], ["ocr-1"]),
    ],
)
def test_find_direction_source_and_limit(
    cli: Cli, nav: Nav, args: list[str], expected: list[str]
) -> None:
    found = as_json(cli("find", "vid-1", "dog", *args, "--json"))
    assert [match["artifact_id"] for match in found["matches"]] == expected


def test_find_applies_the_selection(cli: Cli, nav: Nav) -> None:
    assert ok(cli("find", "vid-1", "dog", "--profile", "fast")).strip() == "no matches"


def test_find_without_a_match_is_not_an_error(cli: Cli, nav: Nav) -> None:
    assert ok(cli("find", "vid-1", "zebra")).strip() == "no matches"
    assert as_json(cli("find", "vid-1", "zebra", "--json")) == {"video_id": "vid-1", "matches": []}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope", "dog"], "error: video nope not found"),
        (["vid-1", "dog", "--source", "video"], "error: unknown source 'video': use transcript"),
        (["vid-1", "dog", "--limit", "0"], "error: limit must be between 1 and 100"),
        (["vid-1", "dog", "--limit", "101"], "error: limit must be between 1 and 100"),
        (["vid-1", "dog", "--from", "1:2:3:4"], "error: invalid time '1:2:3:4'"),
        (["vid-1", "dog", "--selection", "pinned"], "error: invalid selection policy"),
    ],
)
def test_find_user_errors_are_one_line(cli: Cli, nav: Nav, args: list[str], expected: str) -> None:
    assert user_error(cli("find", *args)).startswith(expected)


@pytest.mark.parametrize(
    ("snippet", "plain", "bold"),
    [
        ("say <b>dog</b> now", "say dog now", ["dog"]),
        ("[red]x[/red] <b>[bold]</b> [/]", "[red]x[/red] [bold] [/]", ["[bold]"]),
        ("&amp; &lt;b&gt;y&lt;/b&gt; <b>z</b>", "& <b>y</b> z", ["z"]),
        ("a\\\\\\<b>\\b\\</b>\\", "a\\\\\\\\b\\\\", ["\\b\\"]),
    ],
)
def test_snippet_text_bolds_the_marked_words_and_shows_the_rest_as_typed(
    snippet: str, plain: str, bold: list[str]
) -> None:
    text = snippet_text(snippet)
    assert text.plain == plain
    assert [plain[span.start : span.end] for span in text.spans if span.style == "bold"] == bold


# -- global-jump ---------------------------------------------------------------------------


def test_global_jump_prints_video_time_artifacts_preview_and_more(cli: Cli, nav: Nav) -> None:
    result = cli("global-jump", "--kind", "object", "--label", "dog")
    assert lines(result) == [
        "vid-1  first.mp4",
        "recorded: 2026-01-01T00:00:00+00:00",
        "00:00:02.000 – 00:00:03.000  object  1 artifact: dog-1",
        "preview: label=dog, confidence=0.90",
        "more: yes (continue with --video vid-1 --from 00:00:02.000)",
    ]


def test_global_jump_continues_into_the_next_video(cli: Cli, nav: Nav) -> None:
    args = ["--kind", "object", "--label", "dog", "--video", "vid-1", "--from", "00:00:07.000"]
    output = lines(cli("global-jump", *args))
    assert output[0] == "vid-2  second ☕.mp4"
    assert output[2:] == [
        "00:00:00.500 – 00:00:01.500  object  1 artifact: dog-3",
        "preview: label=dog, confidence=0.95",
        "more: no",
    ]


def test_global_jump_json_has_every_field(cli: Cli, nav: Nav) -> None:
    found = as_json(cli("global-jump", "--kind", "object", "--video", "vid-1", "--json"))
    assert found == {
        "video_id": "vid-1",
        "filename": "first.mp4",
        "recorded_at": "2026-01-01T00:00:00+00:00",
        "jump_to": {"start_ms": 2000, "end_ms": 3000},
        "artifact_id": "dog-1",
        "artifact_ids": ["dog-1"],
        "preview": {"label": "dog", "confidence": 0.9},
        "has_more": True,
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("object --video vid-1 --from 5000", ("vid-1", ["cat-1", "dog-2"])),
        ("object --prev", ("vid-2", ["dog-3"])),
        ("object --prev --video vid-2 --from 500", ("vid-1", ["dog-2"])),
        ("object --prev --video vid-2", ("vid-2", ["dog-3"])),
        ("object --min-confidence 0.85 --prev", ("vid-2", ["dog-3"])),
        ("scene", ("vid-1", ["scene-0"])),
        ("place --prev", ("vid-3", ["place-2"])),
        ("place --label beach", ("vid-3", ["place-2"])),
        ("face --cluster person-2", ("vid-1", ["face-2"])),
        ("ocr --text invoices", ("vid-1", ["ocr-1"])),
        ("transcript -q dog --video vid-1 --from 1", ("vid-1", ["tr-1"])),
        ("transcript -q dog --video vid-1 --from 1000", ("vid-2", ["tr-3"])),
    ],
)
def test_global_jump_directions_and_filters(
    cli: Cli, nav: Nav, args: str, expected: tuple[str, list[str]]
) -> None:
    found = as_json(cli("global-jump", "--kind", *args.split(), "--json"))
    assert (found["video_id"], found["artifact_ids"]) == expected


def test_global_jump_previews_a_text_match_as_a_snippet(cli: Cli, nav: Nav) -> None:
    found = as_json(cli("global-jump", "--kind", "transcript", "-q", "fence", "--json"))
    assert "<b>fence</b>" in found["preview"]["snippet"]
    output = lines(cli("global-jump", "--kind", "transcript", "-q", "fence"))
    assert output[3].startswith("preview: ")
    assert "[red]fence[/red] & <b>gate" in output[3]


def test_global_jump_says_when_the_recording_date_is_unknown(cli: Cli, nav: Nav) -> None:
    output = lines(cli("global-jump", "--kind", "place", "--prev"))
    assert output[:2] == ["vid-3  third.mp4", "recorded: unknown"]
    assert output[-1] == "more: yes (continue with --video vid-3 --from 00:00:01.000 --prev)"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kind", "object", "--from", "1000"], "error: --from needs --video"),
        (["--kind", "object", "--video", "nope"], "error: video nope not found"),
        (["--kind", "face", "--cluster", "nobody"], "error: no next face in the library"),
        (["--kind", "place", "--label", "moon", "--prev"], "error: no prev place in the library"),
        (["--kind", "dragon"], "error: unknown kind 'dragon'"),
        (["--kind", "transcript", "--text", "x"], "error: filter 'text' does not apply to kind"),
        (["--kind", "object", "--video", "vid-1", "--from", "x"], "error: invalid time 'x'"),
    ],
)
def test_global_jump_user_errors_are_one_line(
    cli: Cli, nav: Nav, args: list[str], expected: str
) -> None:
    assert user_error(cli("global-jump", *args)).startswith(expected)


# -- search --------------------------------------------------------------------------------


def test_search_prints_the_gallery_in_timeline_order(cli: Cli, nav: Nav) -> None:
    output = ok(cli("search", "--kind", "object", "--label", "dog"))
    found = [rows_with(output, artifact_id)[0] for artifact_id in ("dog-1", "dog-2", "dog-3")]
    assert [output.index(row) for row in found] == sorted(output.index(row) for row in found)
    assert cells(found[2]) == [
        "vid-2",
        "second ☕.mp4",
        "2026-01-01T01:00:00+00:00",
        "00:00:00.500",
        "dog-3",
        "label=dog, confidence=0.95",
    ]
    assert "--after" not in output


def test_search_json_items_and_pages(cli: Cli, nav: Nav) -> None:
    args = ["search", "--kind", "object", "--label", "dog", "--limit", "2", "--json"]
    first = as_json(cli(*args))
    assert [item["artifact_id"] for item in first["items"]] == ["dog-1", "dog-2"]
    assert first["items"][0] == {
        "video_id": "vid-1",
        "filename": "first.mp4",
        "recorded_at": "2026-01-01T00:00:00+00:00",
        "jump_to": {"start_ms": 2000, "end_ms": 3000},
        "artifact_id": "dog-1",
        "preview": {"label": "dog", "confidence": 0.9},
    }
    second = as_json(cli(*args, "--after", first["next_cursor"]))
    assert [item["artifact_id"] for item in second["items"]] == ["dog-3"]
    assert second["next_cursor"] is None


def test_search_prints_the_cursor_hint_only_when_more_exist(cli: Cli, nav: Nav) -> None:
    output = lines(cli("search", "--kind", "object", "--limit", "3"))
    hint = output[-1]
    assert hint.startswith("more: next page with --after ")
    token = hint.removeprefix("more: next page with --after ")
    rest = ok(cli("search", "--kind", "object", "--after", token))
    assert "dog-3" in rest
    assert "cat-1" not in rest
    assert "--after" not in rest
    exact = lines(cli("search", "--kind", "object", "--limit", "4"))
    assert not exact[-1].startswith("more:")


def test_search_by_video_counts_matches(cli: Cli, nav: Nav) -> None:
    found = as_json(cli("search", "--kind", "object", "--by-video", "--json"))
    assert found == {
        "videos": [
            {
                "video_id": "vid-1",
                "filename": "first.mp4",
                "recorded_at": "2026-01-01T00:00:00+00:00",
                "count": 3,
            },
            {
                "video_id": "vid-2",
                "filename": "second ☕.mp4",
                "recorded_at": "2026-01-01T01:00:00+00:00",
                "count": 1,
            },
        ],
        "next_cursor": None,
    }
    [row] = rows_with(ok(cli("search", "--kind", "place", "--by-video")), "vid-3")
    assert cells(row) == ["vid-3", "third.mp4", "unknown", "1"]


def test_search_by_video_pages(cli: Cli, nav: Nav) -> None:
    args = ["search", "--kind", "place", "--by-video", "--limit", "1", "--json"]
    first = as_json(cli(*args))
    assert [v["video_id"] for v in first["videos"]] == ["vid-1"]
    second = as_json(cli(*args, "--after", first["next_cursor"]))
    assert [v["video_id"] for v in second["videos"]] == ["vid-3"]
    assert second["next_cursor"] is None
    output = lines(cli(*args[:-1]))
    assert output[-1] == f"more: next page with --after {first['next_cursor']}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--filename", "☕"], ["dog-3"]),
        (["--filename", "FIRST"], ["dog-1", "dog-2"]),
        (["--min-confidence", "0.85"], ["dog-1", "dog-3"]),
    ],
)
def test_search_filters(cli: Cli, nav: Nav, args: list[str], expected: list[str]) -> None:
    found = as_json(cli("search", "--kind", "object", "--label", "dog", *args, "--json"))
    assert [item["artifact_id"] for item in found["items"]] == expected


def test_search_text_matches_show_snippets(cli: Cli, nav: Nav) -> None:
    found = as_json(cli("search", "--kind", "transcript", "-q", "dog", "--json"))
    assert [item["artifact_id"] for item in found["items"]] == ["tr-1", "tr-3"]
    assert found["items"][1]["preview"]["snippet"] == "my <b>dog</b> plays"
    [row] = rows_with(ok(cli("search", "--kind", "transcript", "-q", "dog")), "tr-3")
    assert "my dog plays" in row


def test_search_without_matches_is_not_an_error(cli: Cli, nav: Nav) -> None:
    assert ok(cli("search", "--kind", "object", "--label", "zebra")).strip() == "no matches"
    assert ok(cli("search", "--kind", "face", "--by-video", "--cluster", "x")).strip() == (
        "no matches"
    )
    found = as_json(cli("search", "--kind", "object", "--label", "zebra", "--json"))
    assert found == {"items": [], "next_cursor": None}


VIDEO_CURSOR = encode_cursor((EPOCH, "vid-1"))
NAIVE_CURSOR = encode_cursor(("2026-01-01T00:00:00", "vid-1", 0, "a"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kind", "dragon"], "error: unknown kind 'dragon'"),
        (["--kind", "scene", "--label", "x"], "error: filter 'label' does not apply to kind"),
        (["--kind", "object", "--limit", "0"], "error: limit must be between 1 and 500"),
        (["--kind", "object", "--limit", "501"], "error: limit must be between 1 and 500"),
        (["--kind", "object", "--after", "not a cursor"], "error: invalid cursor 'not a cursor'"),
        (["--kind", "object", "--after", VIDEO_CURSOR], "error: invalid cursor"),
        (["--kind", "object", "--after", NAIVE_CURSOR], "error: invalid cursor"),
        (["--kind", "object", "--by-video", "--after", "e30"], "error: invalid cursor 'e30'"),
    ],
)
def test_search_user_errors_are_one_line(
    cli: Cli, nav: Nav, args: list[str], expected: str
) -> None:
    assert user_error(cli("search", *args)).startswith(expected)
