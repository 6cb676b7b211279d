"""A library as plain Python, and the brute-force answers navigation must give (SPEC §5, §7).

Shared by the navigation contract tests (jump, find, global jump, gallery). The rules here
are written from the SPEC text, not from ``eioku.search``: selection from the §5 table
(where §5 is silent, two runs started at the same instant, the documented deterministic
rule applies: the larger run_id counts as the more recent), positions from §7.

Full text is modelled with the word families of tests/factories.py, whose forms stem
together on both engines: a text matches a query when every query phrase occurs in it as
consecutive words of the same families. Every property test first checks the harness
itself: the ``selected`` flags it finds stored are the ones the model predicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from hypothesis import strategies as st
from sqlalchemy import select

from eioku.domain.envelope import INT64_MAX, ArtifactEnvelope
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.domain.videos import Video
from eioku.search.kinds import Direction, Filters, Kind
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import (
    face_clusters,
    object_labels,
    ocr_fts,
    place_labels,
    scene_ranges,
    transcript_fts,
)
from tests.factories import (
    EPOCH,
    FAMILY_OF,
    later,
    make_artifact,
    make_run,
    make_video,
)

M = SelectionMode
T = TypeVar("T")
QUALITY = [ModelProfile.FAST, ModelProfile.BALANCED, ModelProfile.HIGH_QUALITY]
KIND_TYPES: dict[Kind, str] = {
    Kind.SCENE: "scene",
    Kind.TRANSCRIPT: "transcript.segment",
    Kind.OBJECT: "object.detection",
    Kind.FACE: "face.detection",
    Kind.PLACE: "place.classification",
    Kind.OCR: "ocr.text",
}
KIND_TABLES = {
    Kind.SCENE: scene_ranges,
    Kind.TRANSCRIPT: transcript_fts,
    Kind.OBJECT: object_labels,
    Kind.FACE: face_clusters,
    Kind.PLACE: place_labels,
    Kind.OCR: ocr_fts,
}
LABELED = (Kind.OBJECT, Kind.PLACE)
SCORED = (Kind.OBJECT, Kind.FACE, Kind.PLACE, Kind.OCR)
TEXTUAL = (Kind.TRANSCRIPT, Kind.OCR)
LABELS = ("dog", "cat", "Dog")
CLUSTERS = ("p1", "p2")
CONFIDENCES = (0.0, 0.25, 0.5, 0.9, 1.0)
# A few word families, so that searches often match (and phrases sometimes do).
FAMILIES = ("cat", "dog", "green", "jump", "river")
FORMS = sorted(form for form, family in FAMILY_OF.items() if family in FAMILIES)
FORMS_OF = {family: [f for f in FORMS if FAMILY_OF[f] == family] for family in FAMILIES}
UNKNOWN_WORD = "zebra"  # in no family, so in no text
DAYS = tuple(EPOCH + timedelta(days=n) for n in range(3))
# Names with LIKE wildcards, a backslash and mixed case: the gallery's filename filter
# must treat them as plain characters, case-insensitively.
FILENAMES = (
    "Beach_Day.mp4",
    "beach%day.MOV",
    "BEACHxDAY.mkv",
    "trip.mp4",
    "Trip_2%.mp4",
    "back\\slash.mp4",
)
BOX = {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0}
POLYGON = [{"x": 0.0, "y": 0.0}, {"x": 9.0, "y": 0.0}, {"x": 9.0, "y": 4.0}]


# -- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class TextQuery:
    """A search string and what it means: phrases of word families (empty: nothing)."""

    raw: str
    phrases: tuple[tuple[str, ...], ...]

    def matches(self, words: tuple[str, ...]) -> bool:
        families = [FAMILY_OF.get(word.lower(), "?") for word in words]
        return bool(self.phrases) and all(
            any(
                tuple(families[i : i + len(phrase)]) == phrase
                for i in range(len(families) - len(phrase) + 1)
            )
            for phrase in self.phrases
        )


@dataclass(frozen=True)
class Narrowing:
    """The filters of one navigation request, as the reference reads them."""

    label: str | None = None
    cluster: str | None = None
    min_confidence: float | None = None
    text: TextQuery | None = None

    def filters(self, kind: Kind) -> Filters:
        """The same request in the service's terms."""
        raw = None if self.text is None else self.text.raw
        return Filters(
            label=self.label,
            face_cluster_id=self.cluster,
            min_confidence=self.min_confidence,
            q=raw if kind is Kind.TRANSCRIPT else None,
            text=raw if kind is Kind.OCR else None,
        )

    def admits(self, item: Item) -> bool:
        if self.label is not None and item.label != self.label:
            return False
        if self.cluster is not None and item.label != self.cluster:
            return False
        if self.min_confidence is not None:
            assert item.confidence is not None
            if item.confidence < self.min_confidence:
                return False
        return self.text is None or self.text.matches(item.words)


EVERYTHING = Narrowing()


@dataclass(frozen=True)
class Item:
    """One stored artifact as the model sees it; ``label`` holds a face's cluster id."""

    artifact_id: str
    video_id: str
    run_id: str
    kind: Kind
    start: int
    end: int
    label: str | None = None
    confidence: float | None = None
    words: tuple[str, ...] = ()
    text: str = ""

    @property
    def artifact_type(self) -> str:
        return KIND_TYPES[self.kind]

    def payload(self) -> dict[str, Any]:
        frame = {"frame_number": 0}
        if self.kind is Kind.SCENE:
            return {"scene_index": 0, "method": "content", "score": 1.0, **frame}
        if self.kind is Kind.TRANSCRIPT:
            return {"text": self.text}
        if self.kind is Kind.OCR:
            return {
                "text": self.text,
                "confidence": self.confidence,
                "bounding_box": POLYGON,
                **frame,
            }
        scored = {"confidence": self.confidence, **frame}
        if self.kind is Kind.PLACE:
            return {"label": self.label, "alternative_labels": [], **scored}
        if self.kind is Kind.FACE:
            return {"cluster_id": self.label, "bounding_box": BOX, **scored}
        return {"label": self.label, "bounding_box": BOX, **scored}

    def envelope(self, run: Run) -> ArtifactEnvelope:
        return make_artifact(
            run,
            self.artifact_type,
            start=self.start,
            end=self.end,
            payload=self.payload(),
            artifact_id=self.artifact_id,
        )


@dataclass(frozen=True)
class VideoSpec:
    video_id: str
    filename: str
    file_mtime: datetime
    recorded_at: datetime | None

    @property
    def timeline_at(self) -> datetime:
        """SPEC §4: recorded_at, falling back to file_mtime."""
        return self.recorded_at or self.file_mtime

    def video(self) -> Video:
        return make_video(
            self.video_id,
            path=f"/media/{self.video_id}/{self.filename}",
            filename=self.filename,
            file_mtime=self.file_mtime,
            recorded_at=self.recorded_at,
        )


@dataclass
class Library:
    """Videos, runs, artifacts and stored policies, as the test stored them."""

    videos: list[VideoSpec]
    runs: list[Run]
    items: list[Item]
    policies: dict[tuple[str, str], SelectionPolicy] = field(default_factory=dict)

    def video(self, video_id: str) -> VideoSpec:
        return next(v for v in self.videos if v.video_id == video_id)

    def run(self, run_id: str) -> Run:
        return next(r for r in self.runs if r.run_id == run_id)

    def timeline(self) -> list[VideoSpec]:
        """SPEC §4/§7: videos by (timeline key, video_id)."""
        return sorted(self.videos, key=lambda v: (v.timeline_at, v.video_id))

    def runs_seen(
        self, video_id: str, kind: Kind, requested: SelectionPolicy | None = None
    ) -> set[str]:
        """SPEC §5: the runs whose ``kind`` artifacts a reader of ``video_id`` sees."""
        artifact_type = KIND_TYPES[kind]
        policy = requested or SelectionPolicy()
        if policy.mode is M.DEFAULT:
            stored = self.policies.get((video_id, artifact_type))
            policy = stored or SelectionPolicy(mode=M.LATEST)
        made = {i.run_id for i in self.items if i.video_id == video_id and i.kind is kind}
        produced = [r for r in self.runs if r.run_id in made]
        if policy.mode is M.ALL:
            return made
        if policy.mode is M.PINNED:
            if policy.pinned_artifact_id is not None:
                return {i.run_id for i in self.items if i.artifact_id == policy.pinned_artifact_id}
            assert policy.pinned_run_id is not None
            return {policy.pinned_run_id}
        if policy.mode is M.PROFILE:
            produced = [r for r in produced if r.pipeline_profile is policy.preferred_profile]
        elif policy.mode is M.BEST_QUALITY and produced:
            best = max(QUALITY.index(r.pipeline_profile) for r in produced)
            produced = [r for r in produced if QUALITY.index(r.pipeline_profile) == best]
        if not produced:
            return set()
        return {max(produced, key=lambda r: (r.started_at, r.run_id)).run_id}

    def visible(
        self,
        video_id: str,
        kind: Kind,
        narrowing: Narrowing = EVERYTHING,
        requested: SelectionPolicy | None = None,
    ) -> list[Item]:
        """A video's ``kind`` artifacts the policy selects and the filters admit."""
        runs = self.runs_seen(video_id, kind, requested)
        return [
            i
            for i in self.items
            if i.video_id == video_id
            and i.kind is kind
            and i.run_id in runs
            and narrowing.admits(i)
        ]

    def library_visible(self, kind: Kind, narrowing: Narrowing = EVERYTHING) -> list[Item]:
        """Every video's default-selected matches (the global timeline's population)."""
        return [i for v in self.videos for i in self.visible(v.video_id, kind, narrowing)]

    def default_selected(self, item: Item) -> bool:
        return item.run_id in self.runs_seen(item.video_id, item.kind)


@dataclass(frozen=True)
class Landing:
    """Where a jump lands: the tied artifacts and the span covering them."""

    video_id: str
    start_ms: int
    end_ms: int
    artifact_ids: tuple[str, ...]


def land(video_id: str, tied: Iterable[Item]) -> Landing:
    found = list(tied)
    return Landing(
        video_id,
        min(i.start for i in found),
        max(i.end for i in found),
        tuple(sorted(i.artifact_id for i in found)),
    )


def reference_jump(
    library: Library,
    video_id: str,
    kind: Kind,
    way: Direction,
    *,
    from_ms: int | None,
    narrowing: Narrowing = EVERYTHING,
    requested: SelectionPolicy | None = None,
) -> Landing | None:
    """SPEC §7: next = smallest start > t, prev = largest end < t; ties come together."""
    pool = library.visible(video_id, kind, narrowing, requested)
    if way is Direction.NEXT:
        after = [i for i in pool if from_ms is None or i.start > from_ms]
        if not after:
            return None
        target = min(i.start for i in after)
        return land(video_id, (i for i in after if i.start == target))
    before = [i for i in pool if from_ms is None or i.end < from_ms]
    if not before:
        return None
    target = max(i.end for i in before)
    return land(video_id, (i for i in before if i.end == target))


# -- strategies ---------------------------------------------------------------------------
#
# Inner draws use module-level strategies and ``pick`` (an index into a list built at run
# time): Hypothesis analyses every strategy object it meets, and building fresh ones per
# artifact made generating a library cost more than storing and querying it.

# How a text is written: every word alike, or alternating (one draw per text, not per word).
CASINGS: tuple[tuple[Callable[[str], str], ...], ...] = (
    (str.lower,),
    (str.upper,),
    (str.capitalize,),
    (str.upper, str.lower),
    (str.lower, str.capitalize, str.upper),
)
# Mostly a few round times, so that starts and ends tie; now and then any time.
STARTS = st.one_of(*[st.integers(0, 6).map(lambda n: n * 250)] * 3, st.integers(0, 2_000))
LENGTHS = st.one_of(*[st.sampled_from([0, 0, 250, 500, 1_000])] * 3, st.integers(0, 2_000))
INDEX = st.integers(0, 2**16)
BOOLEANS = st.booleans()
D4, D6, D10, D16 = (st.integers(0, n - 1) for n in (4, 6, 10, 16))
WORDS = st.lists(st.sampled_from(FORMS), min_size=1, max_size=6)
PHRASES = st.lists(st.lists(st.sampled_from(FORMS), min_size=1, max_size=2), min_size=1, max_size=2)
NOTHING_TO_SEARCH = st.sampled_from(["", "   ", "?!", "--", '""', "_", "<b>"])
MAYBE_LABEL = st.none() | st.sampled_from([*LABELS, "nothing"])
MAYBE_CLUSTER = st.none() | st.sampled_from([*CLUSTERS, "nobody"])
MAYBE_CONFIDENCE = st.none() | st.sampled_from(CONFIDENCES)
SEPARATORS = st.sampled_from([" ", ", ", ". "])
ANY_KIND = st.sampled_from(list(Kind))
MAYBE_DAY = st.none() | st.sampled_from(DAYS)
STORED_MODES = st.sampled_from([M.LATEST, M.PROFILE, M.BEST_QUALITY, M.PINNED])
READ_MODES = st.sampled_from(
    [M.LATEST, M.PROFILE, M.BEST_QUALITY, M.PINNED, M.DEFAULT, M.DEFAULT, M.DEFAULT, M.ALL]
)


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    """One of ``options`` (shrinking towards the first)."""
    return options[draw(INDEX) % len(options)]


def draw_end(draw: st.DrawFn, start: int) -> int:
    """An end for ``start``: mostly short, ties likely, now and then the largest time."""
    if draw(D16) == 15:  # shrinks away from the extreme
        return INT64_MAX
    return start + int(draw(LENGTHS))


def draw_sentence(draw: st.DrawFn) -> tuple[tuple[str, ...], str]:
    """Words of a short English text, and the text itself in mixed case and punctuation."""
    words = tuple(draw(WORDS))
    casing = pick(draw, CASINGS)
    cased = [casing[n % len(casing)](word) for n, word in enumerate(words)]
    return words, draw(SEPARATORS).join(cased)


def draw_text_query(draw: st.DrawFn, texts: Sequence[tuple[str, ...]]) -> TextQuery:
    """A search string: words and quoted phrases (often taken from one of ``texts``, in
    another form of the same words), an unknown word, or nothing searchable."""
    shape = draw(D10)
    if shape == 0:
        return TextQuery(draw(NOTHING_TO_SEARCH), ())
    if shape == 1:
        return TextQuery(pick(draw, [UNKNOWN_WORD, f"dog {UNKNOWN_WORD}"]), (("?",),))
    phrases = draw(PHRASES)
    if texts and shape > 4:  # half the searches quote a stored text
        words = pick(draw, texts)
        at = draw(INDEX) % len(words)
        phrases[0] = [pick(draw, FORMS_OF[FAMILY_OF[w]]) for w in words[at : at + 2]]
    rendered = []
    for phrase in phrases:
        cased = [w.upper() if draw(BOOLEANS) else w for w in phrase]
        rendered.append(cased[0] if len(cased) == 1 else '"' + " ".join(cased) + '"')
    families = tuple(tuple(FAMILY_OF[w] for w in phrase) for phrase in phrases)
    return TextQuery(" ".join(rendered), families)


def draw_item(draw: st.DrawFn, artifact_id: str, run: Run, kind: Kind) -> Item:
    """One artifact of ``kind`` from ``run`` with random span and payload fields."""
    start = int(draw(STARTS))
    fields: dict[str, Any] = {}
    if kind in LABELED:
        fields["label"] = pick(draw, LABELS)
    if kind is Kind.FACE:
        fields["label"] = pick(draw, [None, *CLUSTERS])
    if kind in SCORED:
        fields["confidence"] = pick(draw, CONFIDENCES)
    if kind in TEXTUAL:
        fields["words"], fields["text"] = draw_sentence(draw)
    return Item(artifact_id, run.asset_id, run.run_id, kind, start, draw_end(draw, start), **fields)


def draw_selection(
    draw: st.DrawFn,
    library: Library,
    video_id: str,
    kind: Kind,
    *,
    stored: bool = False,
    artifact_pins: bool = True,
) -> SelectionPolicy:
    """A valid policy for (video, kind); see :func:`selections`."""
    mode = draw(STORED_MODES if stored else READ_MODES)
    if mode is M.PROFILE:
        return SelectionPolicy(mode=mode, preferred_profile=pick(draw, QUALITY))
    if mode is M.PINNED:
        own = [i.artifact_id for i in library.items if i.video_id == video_id and i.kind is kind]
        if draw(BOOLEANS) and own and artifact_pins:
            return SelectionPolicy(mode=mode, pinned_artifact_id=pick(draw, own))
        runs = [r.run_id for r in library.runs if r.asset_id == video_id]
        return SelectionPolicy(mode=mode, pinned_run_id=pick(draw, runs))
    return SelectionPolicy(mode=mode)


@st.composite
def items_for(draw: st.DrawFn, artifact_id: str, run: Run, kind: Kind) -> Item:
    """One artifact of ``kind`` from ``run`` with random span and payload fields."""
    return draw_item(draw, artifact_id, run, kind)


@st.composite
def text_queries(draw: st.DrawFn, texts: tuple[tuple[str, ...], ...] = ()) -> TextQuery:
    """See :func:`draw_text_query`."""
    return draw_text_query(draw, texts)


@st.composite
def libraries(
    draw: st.DrawFn,
    kinds: tuple[Kind, ...] = tuple(Kind),
    max_videos: int = 3,
    max_items: int = 30,
    policies: bool = True,
) -> Library:
    """A few videos (timeline ties likely), runs of several profiles and start times,
    artifacts of up to three of ``kinds`` with ties on start and end, and now and then
    stored policies."""
    videos = [
        VideoSpec(f"v{n}", pick(draw, FILENAMES), pick(draw, DAYS), draw(MAYBE_DAY))
        for n in range(1 + draw(INDEX) % max_videos)
    ]
    runs = [
        make_run(
            v.video_id,
            profile=pick(draw, QUALITY),
            started_at=later(draw(INDEX) % 3),
            run_id=f"{v.video_id}-r{n}",
        )
        for v in videos
        for n in range(1 + draw(INDEX) % 3)
    ]
    present = sorted({pick(draw, kinds) for _ in range(1 + draw(INDEX) % 3)})
    count = draw(st.integers(0, max_items) | st.just(max_items))
    names = draw(st.permutations(range(count)))
    items = []
    for name in names:
        run, kind = pick(draw, runs), pick(draw, present)
        items.append(draw_item(draw, f"a{name:03d}", run, kind))
    library = Library(videos, runs, items)
    if policies:
        for video in videos:
            for kind in sorted({i.kind for i in items if i.video_id == video.video_id}):
                if draw(D4) == 0:
                    policy = draw_selection(draw, library, video.video_id, kind, stored=True)
                    library.policies[(video.video_id, KIND_TYPES[kind])] = policy
    return library


@st.composite
def selections(
    draw: st.DrawFn,
    library: Library,
    video_id: str,
    kind: Kind,
    *,
    stored: bool = False,
    artifact_pins: bool = True,
) -> SelectionPolicy:
    """A valid policy for (video, kind); stored ones never use the read-only modes.

    ``artifact_pins=False`` leaves out pins by artifact id, which name a run for one
    artifact type only (find over both sources cannot take one).
    """
    return draw_selection(draw, library, video_id, kind, stored=stored, artifact_pins=artifact_pins)


@st.composite
def positions(draw: st.DrawFn, library: Library) -> int | None:
    """A time to navigate from: none, anywhere, or just around an artifact's start or end."""
    shape = draw(D6)
    if shape == 0:
        return None
    if shape == 1 or not library.items:
        return draw(INDEX) % 4_000
    item = pick(draw, library.items)
    edge = item.start if draw(BOOLEANS) else min(item.end, INT64_MAX - 1)
    return max(0, edge + pick(draw, [0, -1, 1]))


@st.composite
def targets(draw: st.DrawFn, library: Library) -> tuple[VideoSpec, Kind]:
    """A video and a kind to navigate: mostly those of a stored artifact."""
    if draw(D4) and library.items:
        item = pick(draw, library.items)
        return library.video(item.video_id), item.kind
    return pick(draw, library.videos), draw(ANY_KIND)


@st.composite
def narrowings(draw: st.DrawFn, kind: Kind, library: Library | None = None) -> Narrowing:
    """Filters that apply to ``kind``, each present or not; searches often quote a text
    of ``library``."""
    found: dict[str, Any] = {}
    if kind in LABELED:
        found["label"] = draw(MAYBE_LABEL)
    if kind is Kind.FACE:
        found["cluster"] = draw(MAYBE_CLUSTER)
    if kind in SCORED:
        found["min_confidence"] = draw(MAYBE_CONFIDENCE)
    if kind in TEXTUAL and draw(BOOLEANS):
        texts = [] if library is None else [i.words for i in library.items if i.kind is kind]
        found["text"] = draw_text_query(draw, texts)
    return Narrowing(**found)


# -- storing and reading back ---------------------------------------------------------------


def put(store: Store, library: Library) -> None:
    """Store the library: videos, runs, one batch of artifacts, then the policies."""
    with store.unit_of_work() as uow:
        for video in library.videos:
            uow.videos.add(video.video())
        for run in library.runs:
            uow.runs.create(run)
        runs = {run.run_id: run for run in library.runs}
        if library.items:
            uow.artifacts.batch_create([i.envelope(runs[i.run_id]) for i in library.items])
        for (video_id, artifact_type), policy in sorted(library.policies.items()):
            uow.selections.set(video_id, artifact_type, policy)


def flags(uow: UnitOfWork) -> dict[str, tuple[bool, datetime]]:
    """Every projection row's ``selected`` flag and timeline key, by artifact id."""
    found: dict[str, tuple[bool, datetime]] = {}
    for table in KIND_TABLES.values():
        query = select(table.c.artifact_id, table.c.selected, table.c.timeline_at)
        found.update({row[0]: (bool(row[1]), row[2]) for row in uow.connection.execute(query)})
    return found


def expected_flags(library: Library) -> dict[str, tuple[bool, datetime]]:
    return {
        i.artifact_id: (library.default_selected(i), library.video(i.video_id).timeline_at)
        for i in library.items
    }


# -- the model itself ------------------------------------------------------------------------


def test_the_text_model_matches_phrases_of_word_families() -> None:
    dog_jumps = TextQuery('"dog jumps"', (("dog", "jump"),))
    assert dog_jumps.matches(("Dogs", "jumped", "green"))
    assert not dog_jumps.matches(("jumped", "dogs"))
    assert not TextQuery("?!", ()).matches(("dog",))
    assert TextQuery("cat dog", (("cat",), ("dog",))).matches(("dog", "river", "cats"))
