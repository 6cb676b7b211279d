"""Library-wide navigation on every engine: global jump, the gallery, and the ``selected``
flags they stand on (SPEC §5, §7).

The reference walks a brute-force global timeline: videos ordered by (recorded_at or
file_mtime, video_id), positions (timeline key, video_id, start) for next and (…, end) for
prev, each video seen through its default selection policy. Projection rows carry that
policy's verdict as a ``selected`` flag; the last test checks that the flags follow every
change that can move it.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidQuery, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.search.gallery import GalleryCursor, counts_by_video, gallery
from eioku.search.kinds import Direction, Filters, Kind
from eioku.search.timeline import GlobalJump, global_jump
from eioku.storage.projections import projection_names
from eioku.storage.store import Store
from tests.conftest import clean
from tests.contract.test_navigation_model import (
    EVERYTHING,
    KIND_TYPES,
    QUALITY,
    Item,
    Landing,
    Library,
    Narrowing,
    VideoSpec,
    expected_flags,
    flags,
    items_for,
    land,
    libraries,
    narrowings,
    positions,
    put,
    selections,
    targets,
)
from tests.factories import EPOCH, later, make_run, store_settings

NEEDLES = ("beach", "BEACH_", "_day", "%day", "%", "_", "trip", "2%", "\\", "MP4", "zzz", "")
for_store = store_settings()

Position = tuple[datetime, str, float]


# -- the reference global timeline ---------------------------------------------------------


def position(library: Library, item: Item, way: Direction) -> Position:
    edge = item.start if way is Direction.NEXT else item.end
    return (library.video(item.video_id).timeline_at, item.video_id, edge)


def reference_global(
    library: Library,
    kind: Kind,
    way: Direction,
    *,
    from_video: str | None,
    from_ms: int | None,
    narrowing: Narrowing = EVERYTHING,
) -> tuple[Landing, bool] | None:
    """The landing of a global jump and whether more matches lie beyond it."""
    pool = library.library_visible(kind, narrowing)
    if from_video is not None:
        edge = (
            from_ms if from_ms is not None else (-math.inf if way is Direction.NEXT else math.inf)
        )
        origin = (library.video(from_video).timeline_at, from_video, edge)
        if way is Direction.NEXT:
            pool = [i for i in pool if position(library, i, way) > origin]
        else:
            pool = [i for i in pool if position(library, i, way) < origin]
    if not pool:
        return None
    pick = min if way is Direction.NEXT else max
    target = pick(position(library, i, way) for i in pool)
    tied = [i for i in pool if position(library, i, way) == target]
    return land(target[1], tied), len(tied) < len(pool)


def preview_of(item: Item) -> dict[str, Any]:
    """What a result's preview shows of its first artifact, per kind."""
    if item.kind is Kind.SCENE:
        return {"scene_index": 0}
    if item.kind is Kind.FACE:
        return {"cluster_id": item.label, "confidence": item.confidence}
    if item.kind in (Kind.OBJECT, Kind.PLACE):
        return {"label": item.label, "confidence": item.confidence}
    if item.kind is Kind.OCR:
        return {"text": item.text, "confidence": item.confidence}
    return {"text": item.text}


def check_landing(library: Library, found: GlobalJump, expected: tuple[Landing, bool]) -> None:
    landing, has_more = expected
    got = Landing(found.video_id, found.start_ms, found.end_ms, found.artifact_ids)
    assert got == landing
    assert found.has_more is has_more
    video = library.video(found.video_id)
    assert (found.filename, found.recorded_at) == (video.filename, video.recorded_at)
    first = next(i for i in library.items if i.artifact_id == found.artifact_ids[0])
    assert preview_of(first).items() <= found.preview.items()


# -- global jump ---------------------------------------------------------------------------


@for_store
@given(data=st.data())
def test_global_jump_walks_the_library_like_the_reference_timeline(
    store: Store, data: st.DataObject
) -> None:
    clean(store)
    library = data.draw(libraries(max_videos=4))
    put(store, library)
    with store.unit_of_work(write=False) as uow:
        assert flags(uow) == expected_flags(library)
        for _ in range(data.draw(st.integers(1, 10))):
            video, kind = data.draw(targets(library))
            way = data.draw(st.sampled_from(list(Direction)))
            start = data.draw(st.sampled_from(["edge", "video", "time"]))
            from_video = None if start == "edge" else video.video_id
            edges = st.sampled_from([0, 10**6])  # past every artifact of the video, one way
            from_ms = data.draw(positions(library) | edges) if start == "time" else None
            narrowing = data.draw(narrowings(kind, library))
            expected = reference_global(
                library, kind, way, from_video=from_video, from_ms=from_ms, narrowing=narrowing
            )
            request: dict[str, Any] = {"from_video_id": from_video, "from_ms": from_ms}
            filters = narrowing.filters(kind)
            if expected is None:
                with pytest.raises(NotFound):
                    global_jump(uow, kind, way, filters=filters, **request)
                event("nothing")
                continue
            found = global_jump(uow, kind, way, filters=filters, **request)
            check_landing(library, found, expected)
            crossed = from_video is not None and found.video_id != from_video
            event("into another video" if crossed else "landed")


def edge_library() -> Library:
    """Three videos whose ids run against their timeline order."""
    videos = [
        VideoSpec("v-c", "first.mp4", later(0), None),
        VideoSpec("v-b", "second.mp4", later(5), later(1)),
        VideoSpec("v-a", "third.mp4", later(9), later(1)),
    ]
    runs = [make_run(v.video_id, run_id=f"{v.video_id}-r0") for v in videos]
    items = [
        Item("zero", "v-c", "v-c-r0", Kind.SCENE, 0, 0),
        Item("b1", "v-b", "v-b-r0", Kind.SCENE, 10, 20),
        Item("b2", "v-b", "v-b-r0", Kind.SCENE, 10, 30),
        Item("last", "v-a", "v-a-r0", Kind.SCENE, 5, INT64_MAX),
    ]
    return Library(videos, runs, items)


def test_global_jump_reaches_both_ends_of_the_library(store: Store) -> None:
    put(store, edge_library())
    with store.unit_of_work(write=False) as uow:
        first = global_jump(uow, "scene", "next")
        assert (first.video_id, first.artifact_ids, first.start_ms) == ("v-c", ("zero",), 0)
        assert first.has_more
        # timeline ties (v-b, v-a share recorded_at) go by video_id: v-a before v-b
        final = global_jump(uow, "scene", "prev")
        assert (final.video_id, final.artifact_ids, final.has_more) == ("v-b", ("b2",), True)
        tied = global_jump(uow, "scene", "next", from_video_id="v-c", from_ms=0)
        assert (tied.video_id, tied.artifact_ids) == ("v-a", ("last",))
        into = global_jump(uow, "scene", "next", from_video_id="v-a", from_ms=5)
        assert (into.video_id, into.artifact_ids, into.end_ms) == ("v-b", ("b1", "b2"), 30)
        assert not into.has_more
        whole = global_jump(uow, "scene", "prev", from_video_id="v-a")
        assert (whole.video_id, whole.artifact_ids) == ("v-a", ("last",))
        back = global_jump(uow, "scene", "prev", from_video_id="v-a", from_ms=INT64_MAX)
        assert (back.video_id, back.artifact_ids) == ("v-c", ("zero",))
        assert not back.has_more
        start = global_jump(uow, "scene", "prev", from_video_id="v-c")
        assert (start.artifact_ids, start.has_more) == (("zero",), False)
        with pytest.raises(NotFound):
            global_jump(uow, "scene", "prev", from_video_id="v-c", from_ms=0)


def test_global_jump_rejects_positions_outside_the_library(store: Store) -> None:
    put(store, edge_library())
    with store.unit_of_work(write=False) as uow:
        with pytest.raises(InvalidQuery):
            global_jump(uow, "scene", "next", from_ms=10)
        with pytest.raises(InvalidQuery):
            global_jump(uow, "meme", "next")
        with pytest.raises(InvalidQuery):
            global_jump(uow, "scene", "next", filters=Filters(label="dog"))
        with pytest.raises(NotFound):
            global_jump(uow, "scene", "next", from_video_id="missing")
        with pytest.raises(NotFound):
            global_jump(uow, "object", "next")


# -- the gallery ---------------------------------------------------------------------------


def reference_gallery(
    library: Library, kind: Kind, narrowing: Narrowing, needle: str | None
) -> list[str]:
    """Artifact ids of every selected match along the timeline, filename filter applied."""
    found = [
        i
        for i in library.library_visible(kind, narrowing)
        if not needle or needle.lower() in library.video(i.video_id).filename.lower()
    ]
    found.sort(key=lambda i: (*position(library, i, Direction.NEXT), i.artifact_id))
    return [i.artifact_id for i in found]


@for_store
@given(data=st.data())
def test_gallery_pages_visit_every_selected_match_once_in_timeline_order(
    store: Store, data: st.DataObject
) -> None:
    clean(store)
    library = data.draw(libraries(max_videos=4))
    put(store, library)
    with store.unit_of_work(write=False) as uow:
        for _ in range(data.draw(st.integers(1, 4))):
            _, kind = data.draw(targets(library))
            narrowing = data.draw(narrowings(kind, library))
            needle = data.draw(st.none() | st.sampled_from(NEEDLES))
            limit = data.draw(st.integers(1, 5))
            request: dict[str, Any] = {
                "filters": narrowing.filters(kind),
                "filename": needle,
                "limit": limit,
            }
            seen: list[str] = []
            after: GalleryCursor | None = None
            while True:
                page = gallery(uow, kind, after=after, **request)
                assert len(page) <= limit
                seen += [item.artifact_id for item in page]
                if len(page) < limit:
                    break
                after = page[-1].cursor
            expected = reference_gallery(library, kind, narrowing, needle)
            assert seen == expected
            counted = Counter(i.video_id for i in library.items if i.artifact_id in set(expected))
            timeline = [v.video_id for v in library.timeline() if counted[v.video_id]]
            pages: list[tuple[str, int]] = []
            video_after: tuple[datetime, str] | None = None
            while True:
                counts = counts_by_video(uow, kind, after=video_after, **request)
                pages += [(c.video_id, c.count) for c in counts]
                if len(counts) < limit:
                    break
                last = library.video(counts[-1].video_id)
                video_after = (last.timeline_at, last.video_id)
            assert pages == [(video_id, counted[video_id]) for video_id in timeline]
            event(f"{min(len(seen), 4)}{'+' if len(seen) > 4 else ''} matches")


def test_gallery_filename_filter_takes_wildcards_literally(store: Store) -> None:
    names = ["a%b.mp4", "axb.mp4", "a_b.MP4", "A\\B.mp4", "Été à Paris.mp4"]
    videos = [VideoSpec(f"v{n}", name, EPOCH, None) for n, name in enumerate(names)]
    runs = [make_run(v.video_id, run_id=f"{v.video_id}-r0") for v in videos]
    items = [
        Item(f"s{n}", v.video_id, f"{v.video_id}-r0", Kind.SCENE, 0, 1)
        for n, v in enumerate(videos)
    ]
    put(store, Library(videos, runs, items))
    with store.unit_of_work(write=False) as uow:
        for needle, expected in [
            ("%", ["s0"]),
            ("_", ["s2"]),
            ("a%B", ["s0"]),
            ("\\", ["s3"]),
            ("a\\b", ["s3"]),
            ("mp4", ["s0", "s1", "s2", "s3", "s4"]),
            ("x", ["s1"]),
            # as typed, and ASCII in any case (SQLite folds no other letters)
            ("Été", ["s4"]),
            ("à PARIS", ["s4"]),
        ]:
            found = gallery(uow, "scene", filename=needle)
            assert [item.artifact_id for item in found] == expected, needle
        with pytest.raises(InvalidQuery):
            gallery(uow, "scene", limit=0)


# -- the selected flags follow every change ------------------------------------------------


def new_run(data: st.DataObject, library: Library, serial: int) -> tuple[Any, list[Item]]:
    video = data.draw(st.sampled_from(library.videos))
    run = make_run(
        video.video_id,
        profile=data.draw(st.sampled_from(QUALITY)),
        started_at=later(data.draw(st.integers(0, 4))),
        run_id=f"{video.video_id}-x{serial}",
    )
    kinds = st.sampled_from(list(Kind))
    made = [
        data.draw(items_for(f"n{serial}-{n}", run, data.draw(kinds)))
        for n in range(data.draw(st.integers(1, 4)))
    ]
    return run, made


@for_store
@given(data=st.data())
def test_selected_flags_follow_the_default_policy_after_every_change(
    store: Store, data: st.DataObject
) -> None:
    clean(store)
    library = data.draw(libraries(max_videos=2, max_items=12))
    put(store, library)
    for serial in range(data.draw(st.integers(1, 8))):
        change = data.draw(st.sampled_from(["run", "run", "policy", "clear", "delete", "rebuild"]))
        video, kind = data.draw(targets(library))
        artifact_type = KIND_TYPES[kind]
        with store.unit_of_work() as uow:
            if change == "run":
                run, made = new_run(data, library, serial)
                uow.runs.create(run)
                runs = {r.run_id: r for r in [*library.runs, run]}
                uow.artifacts.batch_create([i.envelope(runs[i.run_id]) for i in made])
                library.runs.append(run)
                library.items += made
            elif change == "policy":
                policy = data.draw(selections(library, video.video_id, kind, stored=True))
                uow.selections.set(video.video_id, artifact_type, policy)
                library.policies[(video.video_id, artifact_type)] = policy
            elif change == "clear":
                uow.selections.delete(video.video_id, artifact_type)
                library.policies.pop((video.video_id, artifact_type), None)
            elif change == "delete" and library.items:
                doomed = data.draw(st.sampled_from(library.items))
                uow.artifacts.delete(doomed.artifact_id)
                library.items.remove(doomed)
                library.policies = {
                    key: p
                    for key, p in library.policies.items()
                    if p.pinned_artifact_id != doomed.artifact_id
                }
            elif change == "rebuild":
                names = data.draw(
                    st.none() | st.lists(st.sampled_from(projection_names()), unique=True)
                )
                uow.projections.rebuild(names, uow.artifacts.iter_by_type)
        with store.unit_of_work(write=False) as uow:
            assert flags(uow) == expected_flags(library), change
            way = data.draw(st.sampled_from(list(Direction)))
            expected = reference_global(library, kind, way, from_video=None, from_ms=None)
            if expected is not None:
                check_landing(library, global_jump(uow, kind, way), expected)


def test_a_newer_run_takes_the_selection_and_an_older_one_does_not(store: Store) -> None:
    library = edge_library()
    put(store, library)
    older = make_run("v-b", run_id="v-b-old", started_at=EPOCH.replace(year=2020))
    newer = make_run("v-b", run_id="v-b-new", profile=ModelProfile.FAST, started_at=later(3))
    for run, start in [(older, 1), (newer, 2)]:
        item = Item(f"{run.run_id}-s", "v-b", run.run_id, Kind.SCENE, start, start)
        with store.unit_of_work() as uow:
            uow.runs.create(run)
            uow.artifacts.create(item.envelope(run))
        library.runs.append(run)
        library.items.append(item)
        with store.unit_of_work(write=False) as uow:
            assert flags(uow) == expected_flags(library)
    with store.unit_of_work(write=False) as uow:
        found = global_jump(uow, "scene", "next", from_video_id="v-a", from_ms=5)
        assert found.artifact_ids == ("v-b-new-s",)
