"""The navigation queries the benchmark times: through eioku.search, and the naive way.

A probe is one random starting point (video, time) with the label and word a user might
look for there. Each case answers a probe on an open read unit of work; "no match" (404)
is an answer like any other. The naive cases load the video's selected artifacts with
``uow.artifacts.get_by_asset`` and filter and sort them in Python.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bench.nav_data import COCO, COCO_WEIGHTS, WORDS, Shape, VideoPlan, plan
from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import NotFound
from eioku.search import find, gallery, navigation, timeline
from eioku.search.kinds import Filters
from eioku.storage.artifacts import SpanFilter
from eioku.storage.store import UnitOfWork

OBJECT = "object.detection"
COMMON_WORDS = 20  # the most frequent words ("the", "of", ...) are not what people search


@dataclass(frozen=True, slots=True)
class Probe:
    """One starting point and what is looked for from it."""

    video_id: str
    timeline_at: datetime
    from_ms: int
    label: str
    word: str


def probes(shape: Shape, count: int, seed: int = 1) -> list[Probe]:
    """``count`` random starting points over the library, reproducible from ``seed``."""
    rng = random.Random(f"probes:{seed}")
    plans: dict[int, VideoPlan] = {}
    found = []
    for _ in range(count):
        index = rng.randrange(shape.videos)
        video = plans.get(index) or plans.setdefault(index, plan(shape, index))
        if rng.random() < 0.7:
            label = rng.choice(video.labels)
        else:
            label = rng.choices(COCO, cum_weights=COCO_WEIGHTS)[0]
        found.append(
            Probe(
                video_id=video.video.video_id,
                timeline_at=video.video.timeline_at,
                from_ms=rng.randrange(video.duration_ms + 1),
                label=label,
                word=rng.choice(WORDS[COMMON_WORDS:]),
            )
        )
    return found


Answer = Callable[[UnitOfWork, Probe], Any]


@dataclass(frozen=True)
class Case:
    """One query type: how eioku.search answers it, and how a naive reader would."""

    name: str
    family: str  # "jump" or "find": which target applies
    indexed: Answer
    naive: Answer | None = None
    http: Callable[[Probe], tuple[str, dict[str, Any]]] | None = None


def _jump(kind: str, way: str, *, label: bool = False, q: bool = False) -> Answer:
    def answer(uow: UnitOfWork, p: Probe) -> Any:
        filters = Filters(label=p.label if label else None, q=p.word if q else None)
        return navigation.jump(uow, p.video_id, kind, way, from_ms=p.from_ms, filters=filters)

    return answer


def _find(uow: UnitOfWork, p: Probe) -> Any:
    return find.find(uow, p.video_id, p.word, from_ms=p.from_ms, source="all")


def _global(uow: UnitOfWork, p: Probe) -> Any:
    filters = Filters(label=p.label)
    return timeline.global_jump(
        uow, "object", "next", from_video_id=p.video_id, from_ms=p.from_ms, filters=filters
    )


def _gallery(uow: UnitOfWork, p: Probe) -> Any:
    after = (p.timeline_at, p.video_id, p.from_ms, "")
    return gallery.gallery(uow, "object", filters=Filters(label=p.label), limit=50, after=after)


# -- the naive way ----------------------------------------------------------------------


def _selected(uow: UnitOfWork, video_id: str, artifact_type: str) -> list[ArtifactEnvelope]:
    uow.videos.get(video_id)
    return uow.artifacts.get_by_asset(video_id, SpanFilter(artifact_type=artifact_type))


def _has_word(envelope: ArtifactEnvelope, word: str) -> bool:
    return word in str(envelope.payload["text"]).lower().split()


def _tied(found: Sequence[ArtifactEnvelope], *, way: str) -> tuple[str, ...]:
    if not found:
        raise NotFound("nothing in that direction")
    if way == "next":
        edge = min(e.span_start_ms for e in found)
        return tuple(sorted(e.artifact_id for e in found if e.span_start_ms == edge))
    edge = max(e.span_end_ms for e in found)
    return tuple(sorted(e.artifact_id for e in found if e.span_end_ms == edge))


def _naive_jump(artifact_type: str, way: str, *, label: bool = False, q: bool = False) -> Answer:
    def answer(uow: UnitOfWork, p: Probe) -> Any:
        found = _selected(uow, p.video_id, artifact_type)
        if label:
            found = [e for e in found if e.payload["label"] == p.label]
        if q:
            found = [e for e in found if _has_word(e, p.word)]
        if way == "next":
            return _tied([e for e in found if e.span_start_ms > p.from_ms], way=way)
        return _tied([e for e in found if e.span_end_ms < p.from_ms], way=way)

    return answer


def _naive_find(uow: UnitOfWork, p: Probe) -> Any:
    found = [
        (e.span_start_ms, source, e.artifact_id)
        for source, kind in (("transcript", "transcript.segment"), ("ocr", "ocr.text"))
        for e in _selected(uow, p.video_id, kind)
        if e.span_start_ms > p.from_ms and _has_word(e, p.word)
    ]
    return sorted(found)[:10]


def _naive_global(uow: UnitOfWork, p: Probe) -> Any:
    """Walk the videos along the timeline, loading each one's objects until one matches."""
    video_id, after, key = p.video_id, p.from_ms, (p.timeline_at, p.video_id)
    while True:
        found = [
            e
            for e in _selected(uow, video_id, OBJECT)
            if e.payload["label"] == p.label and e.span_start_ms > after
        ]
        if found:
            return video_id, _tied(found, way="next")
        following = uow.videos.list(limit=1, after=key)
        if not following:
            raise NotFound("no next match in the library")
        video_id, after = following[0].video_id, -1
        key = (following[0].timeline_at, video_id)


# -- over HTTP ---------------------------------------------------------------------------


def _http_jump(p: Probe) -> tuple[str, dict[str, Any]]:
    params = {"kind": "object", "direction": "next", "from_ms": p.from_ms, "label": p.label}
    return f"/v1/videos/{p.video_id}/jump", params


def _http_find(p: Probe) -> tuple[str, dict[str, Any]]:
    return f"/v1/videos/{p.video_id}/find", {"q": p.word, "from_ms": p.from_ms, "source": "all"}


def _http_global(p: Probe) -> tuple[str, dict[str, Any]]:
    params = {"kind": "object", "direction": "next", "label": p.label}
    return "/v1/jump/global", params | {"video_id": p.video_id, "from_ms": p.from_ms}


CASES: tuple[Case, ...] = (
    Case("jump next object", "jump", _jump("object", "next"), _naive_jump(OBJECT, "next")),
    Case("jump prev object", "jump", _jump("object", "prev"), _naive_jump(OBJECT, "prev")),
    Case(
        "jump next object label",
        "jump",
        _jump("object", "next", label=True),
        _naive_jump(OBJECT, "next", label=True),
        _http_jump,
    ),
    Case(
        "jump prev object label",
        "jump",
        _jump("object", "prev", label=True),
        _naive_jump(OBJECT, "prev", label=True),
    ),
    Case(
        "jump next transcript q",
        "jump",
        _jump("transcript", "next", q=True),
        _naive_jump("transcript.segment", "next", q=True),
    ),
    Case("find all q", "find", _find, _naive_find, _http_find),
    Case("global jump next label", "jump", _global, _naive_global, _http_global),
    Case("gallery page label (50)", "find", _gallery),
)
