"""Jump next/previous inside one video on every engine (SPEC §7; §10 property 10).

Random libraries are compared with the brute-force reference of test_navigation_model:
next from t lands on the smallest start after t, prev on the largest end before it, every
artifact tied there comes back (ordered by id) and the jump target covers them; filters
and every selection mode apply; no match is NotFound.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.search.kinds import Direction, Filters, Kind
from eioku.search.navigation import Jump, jump
from eioku.storage.store import Store
from tests.conftest import clean
from tests.contract.test_navigation_model import (
    Item,
    Landing,
    Library,
    VideoSpec,
    expected_flags,
    flags,
    libraries,
    narrowings,
    positions,
    put,
    reference_jump,
    selections,
    targets,
)
from tests.factories import EPOCH, later, make_run, store_settings, text_st

for_store = store_settings()


def landing(found: Jump) -> Landing:
    return Landing(found.video_id, found.start_ms, found.end_ms, found.artifact_ids)


@for_store
@given(data=st.data())
def test_jump_lands_exactly_where_the_reference_model_says(
    store: Store, data: st.DataObject
) -> None:
    clean(store)
    library = data.draw(libraries())
    put(store, library)
    with store.unit_of_work(write=False) as uow:
        assert flags(uow) == expected_flags(library)
        for _ in range(data.draw(st.integers(1, 12))):
            video, kind = data.draw(targets(library))
            way = data.draw(st.sampled_from(list(Direction)))
            from_ms = data.draw(positions(library))
            narrowing = data.draw(narrowings(kind, library))
            requested = data.draw(st.none() | selections(library, video.video_id, kind))
            expected = reference_jump(
                library,
                video.video_id,
                kind,
                way,
                from_ms=from_ms,
                narrowing=narrowing,
                requested=requested,
            )
            request: dict[str, Any] = {
                "from_ms": from_ms,
                "filters": narrowing.filters(kind),
                "selection": requested,
            }
            event("no match" if expected is None else f"{len(expected.artifact_ids)} tied")
            if expected is None:
                with pytest.raises(NotFound):
                    jump(uow, video.video_id, kind, way, **request)
            else:
                found = jump(uow, video.video_id, kind, way, **request)
                assert landing(found) == expected, (kind, way, request)


# -- the rules on small, named examples ----------------------------------------------------


def one_video(*items: Item, runs: int = 1) -> Library:
    video = VideoSpec("v0", "clip.mp4", EPOCH, None)
    made = [make_run("v0", run_id=f"v0-r{n}", started_at=later(n)) for n in range(runs)]
    return Library([video], made, list(items))


def scene(artifact_id: str, start: int, end: int, run: str = "v0-r0") -> Item:
    return Item(artifact_id, "v0", run, Kind.SCENE, start, end)


def test_jump_next_returns_every_artifact_starting_first_after_t(store: Store) -> None:
    put(
        store,
        one_video(
            scene("b", 100, 900), scene("a", 100, 300), scene("c", 50, 2000), scene("d", 101, 101)
        ),
    )
    with store.unit_of_work(write=False) as uow:
        found = jump(uow, "v0", "scene", "next", from_ms=50)
        assert found == Jump("v0", 100, 900, ("a", "b"))
        assert jump(uow, "v0", "scene", "next", from_ms=100).artifact_ids == ("d",)
        with pytest.raises(NotFound):
            jump(uow, "v0", "scene", "next", from_ms=101)


def test_jump_prev_returns_the_latest_end_before_t(store: Store) -> None:
    put(store, one_video(scene("a", 0, 500), scene("b", 200, 500), scene("c", 400, 900)))
    with store.unit_of_work(write=False) as uow:
        assert jump(uow, "v0", "scene", "prev", from_ms=900) == Jump("v0", 0, 500, ("a", "b"))
        assert jump(uow, "v0", "scene", "prev", from_ms=901).artifact_ids == ("c",)
        assert jump(uow, "v0", "scene", "prev").artifact_ids == ("c",)
        with pytest.raises(NotFound):
            jump(uow, "v0", "scene", "prev", from_ms=500)


def test_jump_from_the_edge_reaches_points_at_0_ms_and_at_the_largest_time(
    store: Store,
) -> None:
    put(store, one_video(scene("first", 0, 0), scene("last", INT64_MAX, INT64_MAX)))
    with store.unit_of_work(write=False) as uow:
        assert jump(uow, "v0", "scene", "next") == Jump("v0", 0, 0, ("first",))
        assert jump(uow, "v0", "scene", "prev").artifact_ids == ("last",)
        with pytest.raises(NotFound):
            jump(uow, "v0", "scene", "next", from_ms=INT64_MAX)


def test_jump_sees_only_the_runs_the_selection_picks(store: Store) -> None:
    put(store, one_video(scene("old", 100, 200, "v0-r0"), scene("new", 300, 400, "v0-r1"), runs=2))
    pinned = SelectionPolicy(mode=SelectionMode.PINNED, pinned_run_id="v0-r0")
    with store.unit_of_work(write=False) as uow:
        assert jump(uow, "v0", "scene", "next").artifact_ids == ("new",)
        assert jump(uow, "v0", "scene", "next", selection=pinned).artifact_ids == ("old",)
        every = SelectionPolicy(mode=SelectionMode.ALL)
        assert jump(uow, "v0", "scene", "next", selection=every).artifact_ids == ("old",)


def test_jump_rejects_requests_no_video_can_answer(store: Store) -> None:
    library = one_video(scene("a", 0, 10))
    library.videos.append(VideoSpec("v1", "other.mp4", EPOCH, None))
    library.runs.append(make_run("v1", run_id="v1-r0"))
    put(store, library)
    with store.unit_of_work(write=False) as uow:
        for kind, direction in [("shot", "next"), ("scene", "forward")]:
            with pytest.raises(InvalidQuery):
                jump(uow, "v0", kind, direction)
        for filters in [
            Filters(label="dog"),
            Filters(min_confidence=0.5),
            Filters(q="dog"),
            Filters(text="dog"),
        ]:
            with pytest.raises(InvalidQuery):
                jump(uow, "v0", "scene", "next", filters=filters)
        with pytest.raises(InvalidQuery):
            jump(uow, "v0", "object", "next", filters=Filters(min_confidence=1.5))
        with pytest.raises(InvalidQuery):
            jump(uow, "v0", "face", "next", filters=Filters(label="dog"))
        with pytest.raises(InvalidQuery):
            jump(uow, "v0", "scene", "next", from_ms=-1)
        with pytest.raises(InvalidQuery):
            jump(uow, "v0", "scene", "next", from_ms=INT64_MAX + 1)
        foreign = SelectionPolicy(mode=SelectionMode.PINNED, pinned_run_id="v1-r0")
        with pytest.raises(InvalidQuery):
            jump(uow, "v0", "scene", "next", selection=foreign)
        with pytest.raises(NotFound):
            jump(uow, "missing", "scene", "next")


@pytest.mark.parametrize("kind", [Kind.TRANSCRIPT, Kind.OCR])
def test_jump_accepts_any_search_text(store: Store, kind: Kind) -> None:
    words = ("dogs", "open", "the", "window")
    item = Item("a", "v0", "v0-r0", kind, 0, 10, confidence=0.5, words=words, text=" ".join(words))
    put(store, one_video(item))  # once: the examples only read

    @given(text=text_st | st.text())
    def check(text: str) -> None:
        filters = Filters(q=text) if kind is Kind.TRANSCRIPT else Filters(text=text)
        with store.unit_of_work(write=False) as uow:
            for way in Direction:
                try:
                    found = jump(uow, "v0", kind, way, filters=filters)
                except NotFound:
                    continue
                assert found.artifact_ids == ("a",)

    check()
