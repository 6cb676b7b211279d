"""Find text inside one video on every engine (SPEC §7; §10 properties 11 and 12).

Next gives the matches starting after t in ascending start order, prev those starting
before t in descending order, at most ``limit`` of them, each snippet highlighting a
match; ``source=all`` is the time-ordered union of both sources, each match tagged with
its source. The reference is test_navigation_model's word-family text model. Where two
matches start at the same time the SPEC fixes no order, so a page cut between them may
hold either; the comparison allows exactly that freedom and no other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.domain.text_query import SNIPPET_CLOSE, SNIPPET_OPEN
from eioku.search.find import FindMatch, find
from eioku.search.kinds import Direction, Kind, TextSource
from eioku.storage.store import Store
from tests.conftest import clean
from tests.contract.test_navigation_model import (
    TEXTUAL,
    Item,
    Library,
    Narrowing,
    TextQuery,
    VideoSpec,
    expected_flags,
    flags,
    libraries,
    positions,
    put,
    selections,
    text_queries,
)
from tests.factories import EPOCH, later, make_run, store_settings, text_st

SOURCE_KINDS = {TextSource.TRANSCRIPT: Kind.TRANSCRIPT, TextSource.OCR: Kind.OCR}
# (start_ms, source, artifact_id): a match as the comparison sees it
Found = tuple[int, TextSource, str]
for_store = store_settings()


def reference_find(
    library: Library,
    video_id: str,
    text: TextQuery,
    source: TextSource,
    way: Direction,
    *,
    from_ms: int | None,
    requested: SelectionPolicy | None,
) -> list[Found]:
    """Every match of ``text`` past ``from_ms``, in start order for ``way`` (ties unordered)."""
    kind = SOURCE_KINDS[source]
    pool = library.visible(video_id, kind, Narrowing(text=text), requested)
    if from_ms is not None:
        pool = [
            i for i in pool if (i.start > from_ms if way is Direction.NEXT else i.start < from_ms)
        ]
    found = [(i.start, source, i.artifact_id) for i in pool]
    return sorted(found, key=lambda f: f[0], reverse=way is Direction.PREV)


def assert_first_page(got: Sequence[Found], expected: Sequence[Found], limit: int) -> None:
    """``got`` is the first ``limit`` of ``expected``, any order among equal starts."""
    assert [g[0] for g in got] == [e[0] for e in expected[:limit]]
    if not got:
        return
    last = got[-1][0]
    before = {e for e in expected[: len(got)] if e[0] != last}
    assert {g for g in got if g[0] != last} == before
    assert {g for g in got if g[0] == last} <= {e for e in expected if e[0] == last}


def check_page(
    matches: list[FindMatch], way: Direction, from_ms: int | None, limit: int
) -> list[Found]:
    """Properties 11 and 12 on one page: direction, order, limit, highlighted snippets."""
    assert len(matches) <= limit
    starts = [m.start_ms for m in matches]
    assert starts == sorted(starts, reverse=way is Direction.PREV)
    if from_ms is not None:
        assert all(s > from_ms if way is Direction.NEXT else s < from_ms for s in starts)
    for match in matches:
        assert SNIPPET_OPEN in match.snippet
        assert SNIPPET_CLOSE in match.snippet
    return [(m.start_ms, m.source, m.artifact_id) for m in matches]


@for_store
@given(data=st.data())
def test_find_pages_are_ordered_limited_and_merged_by_time(
    store: Store, data: st.DataObject
) -> None:
    clean(store)
    library = data.draw(libraries(kinds=TEXTUAL, max_videos=2))
    put(store, library)
    ends = {i.artifact_id: i.end for i in library.items}
    texts = tuple(i.words for i in library.items)
    with store.unit_of_work(write=False) as uow:
        assert flags(uow) == expected_flags(library)
        for _ in range(data.draw(st.integers(1, 6))):
            video = data.draw(st.sampled_from(library.videos))
            text = data.draw(text_queries(texts))
            way = data.draw(st.sampled_from(list(Direction)))
            request: dict[str, Any] = {
                "direction": way,
                "from_ms": data.draw(positions(library)),
                "limit": data.draw(st.integers(1, 6) | st.just(100)),
                "selection": data.draw(
                    st.none() | selections(library, video.video_id, Kind.OCR, artifact_pins=False)
                ),
            }
            limit, from_ms = request["limit"], request["from_ms"]
            pages: dict[TextSource, list[Found]] = {}
            for source in SOURCE_KINDS:
                matches = find(uow, video.video_id, text.raw, source=source, **request)
                assert all(m.source is source and m.end_ms == ends[m.artifact_id] for m in matches)
                pages[source] = check_page(matches, way, from_ms, limit)
                expected = reference_find(
                    library,
                    video.video_id,
                    text,
                    source,
                    way,
                    from_ms=from_ms,
                    requested=request["selection"],
                )
                assert_first_page(pages[source], expected, limit)
            merged = find(uow, video.video_id, text.raw, source=TextSource.ALL, **request)
            union = sorted(
                pages[TextSource.TRANSCRIPT] + pages[TextSource.OCR],
                key=lambda f: f[0],
                reverse=way is Direction.PREV,
            )
            assert_first_page(check_page(merged, way, from_ms, limit), union, limit)
            event(f"merged page of {min(len(merged), 3)}{'+' if len(merged) > 3 else ''}")


# -- named examples and bad input ----------------------------------------------------------


def words(artifact_id: str, kind: Kind, start: int, text: str, run: str = "v0-r0") -> Item:
    return Item(
        artifact_id,
        "v0",
        run,
        kind,
        start,
        start + 100,
        confidence=0.5,
        words=tuple(text.split()),
        text=text,
    )


def spoken_and_shown(store: Store) -> None:
    library = Library(
        [VideoSpec("v0", "clip.mp4", EPOCH, None)],
        [make_run("v0", run_id="v0-r0", started_at=later(1)), make_run("v0", run_id="v0-r1")],
        [
            words("t1", Kind.TRANSCRIPT, 1000, "the dog jumped"),
            words("t2", Kind.TRANSCRIPT, 3000, "a green river"),
            words("t3", Kind.TRANSCRIPT, 5000, "dogs and cats"),
            words("o1", Kind.OCR, 2000, "DOG FOOD"),
            words("o2", Kind.OCR, 4000, "no dogs allowed"),
            words("old", Kind.OCR, 4500, "dog", run="v0-r1"),
        ],
    )
    put(store, library)


def test_find_next_ascends_and_prev_descends_with_sources_tagged(store: Store) -> None:
    spoken_and_shown(store)
    with store.unit_of_work(write=False) as uow:
        forward = find(uow, "v0", "dog", from_ms=1000)
        assert [(m.source.value, m.artifact_id) for m in forward] == [
            ("ocr", "o1"),
            ("ocr", "o2"),
            ("transcript", "t3"),
        ]
        backward = find(uow, "v0", "dog", direction="prev", from_ms=5000, limit=2)
        assert [m.artifact_id for m in backward] == ["o2", "o1"]
        assert backward[0].snippet == f"no {SNIPPET_OPEN}dogs{SNIPPET_CLOSE} allowed"
        spoken = find(uow, "v0", "dog", source="transcript")
        assert [m.artifact_id for m in spoken] == ["t1", "t3"]
        every = SelectionPolicy(mode=SelectionMode.ALL)
        shown = find(uow, "v0", "dog", source="ocr", selection=every)
        assert [m.artifact_id for m in shown] == ["o1", "o2", "old"]


@pytest.mark.parametrize("q", ["", "   ", "?!", '"', '""', "--", "_", "***"])
def test_find_with_nothing_searchable_finds_nothing(store: Store, q: str) -> None:
    spoken_and_shown(store)
    with store.unit_of_work(write=False) as uow:
        for source in TextSource:
            assert find(uow, "v0", q, source=source) == []


def test_find_rejects_bad_requests(store: Store) -> None:
    spoken_and_shown(store)
    with store.unit_of_work(write=False) as uow:
        for bad in [
            {"source": "subtitles"},
            {"direction": "sideways"},
            {"limit": 0},
            {"limit": 101},
            {"from_ms": -1},
        ]:
            with pytest.raises(InvalidQuery):
                find(uow, "v0", "dog", **bad)  # type: ignore[arg-type]
        assert len(find(uow, "v0", "dog", limit=100)) == 4
        with pytest.raises(NotFound):
            find(uow, "missing", "dog")


def test_find_accepts_any_search_text(store: Store) -> None:
    spoken_and_shown(store)  # once: the examples only read

    @given(q=text_st | st.text())
    def check(q: str) -> None:
        with store.unit_of_work(write=False) as uow:
            for source in TextSource:
                for way in Direction:
                    for match in find(uow, "v0", q, direction=way, source=source, limit=100):
                        assert SNIPPET_OPEN in match.snippet

    check()
