"""Navigation is index lookups on both engines, checked on the plans themselves (SPEC §7, §11).

A realistically sized library (200 videos x 250 artifacts of the six navigable types,
a quarter of the videos re-run so that unselected rows sit in the indexes too) is loaded
once per engine and analysed. Every statement jump, find, global jump and the gallery
send to the database is captured and explained (PostgreSQL ``EXPLAIN (FORMAT JSON)``,
SQLite ``EXPLAIN QUERY PLAN``): each statement reading a projection table must go
through the index meant for it (per-video ``ix_<table>_video…``, library-wide partial
``ix_<table>_library…``, the full-text index) and never scan the table.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, event, select, text

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run
from eioku.domain.videos import Video
from eioku.search.find import find
from eioku.search.gallery import counts_by_video, gallery
from eioku.search.kinds import SPECS, Filters, Kind, KindSpec
from eioku.search.navigation import jump
from eioku.search.timeline import global_jump
from eioku.storage.postgres.ddl import GIN_PENDING_LIST_KB
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import PROJECTION_TABLES
from tests.conftest import ENGINES, clean
from tests.factories import EPOCH, later, make_artifact, make_run, make_video

VIDEOS = 200
PER_VIDEO = 250
LONG = "long-talk"
LONG_SEGMENTS = 3_000
RERUN_EVERY = 4  # every 4th video has an older run whose rows are not selected
TYPES = {
    Kind.TRANSCRIPT: "transcript.segment",
    Kind.OCR: "ocr.text",
    Kind.OBJECT: "object.detection",
    Kind.FACE: "face.detection",
    Kind.PLACE: "place.classification",
    Kind.SCENE: "scene",
}
LABELS = [f"thing{n}" for n in range(40)]
PLACES = [f"place{n}" for n in range(30)]
CLUSTERS = [f"person-{n}" for n in range(300)]
FILLER = [f"word{n}" for n in range(400)]
RARE = "invoice"
RARE_SHARE = 0.01  # of texts that contain it
PROJECTIONS = {table.name for table in PROJECTION_TABLES}
BOX = {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0}
POLYGON = [{"x": 0.0, "y": 0.0}, {"x": 9.0, "y": 0.0}, {"x": 9.0, "y": 4.0}]


# -- the library ---------------------------------------------------------------------------


def payload(kind: Kind, rng: random.Random, index: int) -> dict[str, Any]:
    confidence = round(rng.random(), 3)
    frame = {"frame_number": index}
    if kind in (Kind.TRANSCRIPT, Kind.OCR):
        words = rng.choices(FILLER, k=rng.randint(3, 12))
        if rng.random() < RARE_SHARE:
            words[rng.randrange(len(words))] = RARE
        if kind is Kind.TRANSCRIPT:
            return {"text": " ".join(words)}
        return {"text": " ".join(words), "confidence": confidence, "bounding_box": POLYGON, **frame}
    if kind is Kind.OBJECT:
        label = rng.choice(LABELS)
        return {"label": label, "confidence": confidence, "bounding_box": BOX, **frame}
    if kind is Kind.FACE:
        cluster = rng.choice(CLUSTERS)
        return {"cluster_id": cluster, "confidence": confidence, "bounding_box": BOX, **frame}
    if kind is Kind.PLACE:
        label = rng.choice(PLACES)
        return {"label": label, "confidence": confidence, "alternative_labels": [], **frame}
    return {"scene_index": index, "method": "content", "score": 1.0, **frame}


def artifacts_of(run: Run, rng: random.Random, count: int, kinds: list[Kind]) -> list[Any]:
    made = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        start = index * 2_000 + rng.randrange(1_000)
        made.append(
            make_artifact(
                run,
                TYPES[kind],
                start=start,
                end=start + rng.randrange(3_000),
                payload=payload(kind, rng, index),
            )
        )
    return made


@dataclass(frozen=True)
class Batch:
    """Videos with their runs and artifacts, stored in one unit of work."""

    videos: list[Video]
    runs: list[Run]
    artifacts: list[ArtifactEnvelope]


@cache
def library_batches() -> list[Batch]:
    """The library, built once for both engines; the timeline order is unrelated to ids.

    ``LONG`` is one long talk (a transcript segment every 1.5 s for 75 minutes) in the
    middle of the timeline: the per-video text search that must use the full-text index.
    """
    rng = random.Random(20_240_601)
    hours = list(range(VIDEOS))
    rng.shuffle(hours)
    batches = []
    for first in range(0, VIDEOS, 20):
        batch = Batch([], [], [])
        for n in range(first, first + 20):
            video = make_video(f"video-{n:04d}", recorded_at=EPOCH + timedelta(hours=hours[n]))
            runs = [make_run(video.video_id, run_id=f"{video.video_id}-new", started_at=later(9))]
            if n % RERUN_EVERY == 0:
                old = make_run(
                    video.video_id, run_id=f"{video.video_id}-old", profile=ModelProfile.FAST
                )
                runs.append(old)
            batch.videos.append(video)
            batch.runs.extend(runs)
            for run in runs:
                batch.artifacts.extend(artifacts_of(run, rng, PER_VIDEO // len(runs), list(TYPES)))
        batches.append(batch)
    talk = make_video(LONG, recorded_at=EPOCH + timedelta(hours=VIDEOS // 2, minutes=30))
    run = make_run(LONG, run_id=f"{LONG}-new")
    segments = artifacts_of(run, rng, LONG_SEGMENTS, [Kind.TRANSCRIPT])
    batches.append(Batch([talk], [run], segments))
    return batches


def load(store: Store) -> None:
    """Store the library as a settled database, then ingest the long talk on top.

    After the videos, ``VACUUM ANALYZE`` (PostgreSQL; ``ANALYZE`` on SQLite) stands for the
    autovacuum a library that has been there a while has had: without it PostgreSQL's
    choice between an index-only scan and a sequential scan flips with the visibility
    map, so with whether autovacuum happened to run. The long talk arrives afterwards,
    as a fresh ingest: the full-text index must serve searches straight after one.
    """
    *videos, talk = library_batches()
    for batch in videos:
        store_batch(store, batch)
    settle(store, vacuum=True)
    store_batch(store, talk)
    settle(store, vacuum=False)


def store_batch(store: Store, batch: Batch) -> None:
    with store.unit_of_work() as uow:
        for video in batch.videos:
            uow.videos.add(video)
        for run in batch.runs:
            uow.runs.create(run)
        uow.artifacts.batch_create(batch.artifacts)


def settle(store: Store, *, vacuum: bool) -> None:
    """Refresh planner statistics (and on PostgreSQL, with ``vacuum``, the visibility map)."""
    postgres = store.backend.name == "postgresql"
    command = "VACUUM ANALYZE" if vacuum and postgres else "ANALYZE"
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if postgres:  # sample every row: statistics (so plans) do not vary between runs
            conn.exec_driver_sql("SET default_statistics_target = 10000")
        conn.exec_driver_sql(command)


@contextmanager
def autovacuum_off(store: Store) -> Iterator[None]:
    """PostgreSQL's autovacuum paused on the library's tables, so that the plans do not
    depend on whether it happened to run (nothing to do on SQLite)."""
    if store.backend.name != "postgresql":
        yield
        return
    names = ["artifacts", *sorted(PROJECTIONS)]
    with store.engine.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f"ALTER TABLE {name} SET (autovacuum_enabled = false)")
    try:
        yield
    finally:
        with store.engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f"ALTER TABLE {name} RESET (autovacuum_enabled)")


@pytest.fixture(scope="module", params=ENGINES)
def library(request: pytest.FixtureRequest, stores: dict[str, Store]) -> Iterator[Store]:
    """The library on one engine (left there: every test cleans the store it uses first)."""
    store = stores[request.param]
    clean(store)
    with autovacuum_off(store):
        load(store)
        yield store


# -- capturing and explaining ----------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any

    @property
    def projection(self) -> str | None:
        """The projection table the statement reads, if any."""
        words = set(self.sql.replace(",", " ").replace("(", " ").split())
        found = sorted(PROJECTIONS & words)
        return found[0] if found else None


@contextmanager
def captured(store: Store) -> Iterator[list[Statement]]:
    """Every statement sent to the database inside the block."""
    seen: list[Statement] = []

    def listen(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        seen.append(Statement(sql, parameters))

    for engine in store.engines:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        for engine in store.engines:
            event.remove(engine, "before_cursor_execute", listen)


@dataclass(frozen=True)
class Plan:
    """What one statement's plan touches: indexes (FTS tables included) and table scans."""

    indexes: set[str]
    table_scans: set[str]
    text: str


def explain(conn: Connection, statement: Statement) -> Plan:
    if conn.dialect.name == "postgresql":
        return explain_postgres(conn, statement)
    return explain_sqlite(conn, statement)


def explain_postgres(conn: Connection, statement: Statement) -> Plan:
    result = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement.sql, statement.parameters)
    document = result.scalar_one()
    plan = document if isinstance(document, list) else orjson.loads(document)
    indexes: set[str] = set()
    scans: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            indexes.add(node["Index Name"])
        if node["Node Type"] == "Seq Scan":
            scans.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return Plan(indexes, scans, orjson.dumps(plan, option=orjson.OPT_INDENT_2).decode())


def explain_sqlite(conn: Connection, statement: Statement) -> Plan:
    """Reads lines like ``SEARCH t USING [COVERING] INDEX ix (...)``, ``SCAN t USING INDEX
    ix``, ``SCAN fts VIRTUAL TABLE INDEX 0:M2`` and, for a full table scan, ``SCAN t``."""
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, statement.parameters)
    details = [str(row[3]) for row in rows]
    indexes: set[str] = set()
    scans: set[str] = set()
    for detail in details:
        words = detail.split()
        if words[:1] == ["SCAN"] and "VIRTUAL" in words:
            indexes.add(words[1])
        elif "INDEX" in words:
            indexes.add(words[words.index("INDEX") + 1])
        elif words[:1] == ["SCAN"]:
            scans.add(words[1])
    return Plan(indexes, scans, "\n".join(details))


# -- what each navigation call must use ------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Where in the loaded library the calls navigate from."""

    video_id: str
    from_ms: int
    keys: dict[Kind, str]  # a label / cluster id present after from_ms in the video


def sample(store: Store) -> Sample:
    video_id, from_ms = "video-0100", 100_000
    keys: dict[Kind, str] = {}
    with store.unit_of_work(write=False) as uow:
        for kind, column in [
            (Kind.OBJECT, "label"),
            (Kind.PLACE, "label"),
            (Kind.FACE, "cluster_id"),
        ]:
            table = SPECS[kind].table
            query = (
                select(table.c[column])
                .where(table.c.asset_id == video_id, table.c.selected, table.c.start_ms > from_ms)
                .order_by(table.c.start_ms)
                .limit(1)
            )
            keys[kind] = uow.connection.execute(query).scalar_one()
    return Sample(video_id, from_ms, keys)


Call = Callable[[UnitOfWork, Sample], object]


Prefixes = dict[str, tuple[str, ...]]  # per engine, index name prefixes


@dataclass(frozen=True)
class Case:
    """One navigation call and the indexes its projection-table statements must use.

    Attributes:
        table: the projection table navigated.
        family: prefixes every projection index in every statement's plan must have.
        steps: for some statements (by position, -1 the last), per engine, prefixes of
            which the statement must use at least one index.
        whole_video: engines on which the statement reads the whole video's rows by
            design, where a video that is most of the table may be read by a table scan.
    """

    name: str
    table: str
    call: Call
    family: tuple[str, ...]
    steps: dict[int, Prefixes]
    whole_video: tuple[str, ...] = ()


def both(*indexes: str) -> dict[str, tuple[str, ...]]:
    return {engine: indexes for engine in ENGINES}


def full_text(table: str) -> dict[str, tuple[str, ...]]:
    """The full-text index of a text projection on each engine."""
    return {"sqlite": (f"{table}_idx",), "postgresql": (f"ix_{table}_text_tsv",)}


def filters_for(kind: Kind, by: str | None, at: Sample) -> Filters:
    if by == "key":
        key = at.keys[kind]
        return Filters(face_cluster_id=key) if kind is Kind.FACE else Filters(label=key)
    if by == "text":
        return Filters(q=RARE) if kind is Kind.TRANSCRIPT else Filters(text=RARE)
    return Filters()


def narrowed(spec: KindSpec) -> list[str | None]:
    """No filter, and each filter that uses an index of its own."""
    return [None, *(["key"] if spec.key else []), *(["text"] if spec.text_filter else [])]


def index_of(table: str, scope: str, spec: KindSpec, by: str | None, edge: str) -> str:
    """The index name, or with ``edge=""`` the prefix of both edges' indexes."""
    tag = f"_{spec.key.split('_')[0]}" if by == "key" and spec.key else ""
    return f"ix_{table}_{scope}{tag}_{edge}"


def seek_case(
    prefix: str, spec: KindSpec, by: str | None, call: Call, *, scope: str, edge: str
) -> Case:
    """A case whose first statement seeks ``ix_<table>_<scope>[_key]_<edge>`` (a text filter
    may go through the full-text index instead) and whose other statements read the same
    table through its indexes. Library-wide calls may look up the exact position of a hit
    in the per-video index, and global jump's last statement (is there more beyond?) must
    seek the library index again; global jump is one statement, so both apply to it."""
    table = spec.table.name
    text_index = full_text(table) if by == "text" else both()
    family = (f"ix_{table}_{scope}", *text_index["sqlite"], *text_index["postgresql"])
    if scope == "library":
        family = (*family, f"ix_{table}_video")
    seek = both(index_of(table, scope, spec, by, edge))
    if prefix.startswith("jump"):
        # The video's own selection is the rows' selected flag, which the library indexes
        # hold: for a key that is rare in the library (one person's face), seeking the
        # key there and keeping this video's rows is as good a plan as the per-video
        # keyed seek, and PostgreSQL picks either on this small library.
        family = (*family, f"ix_{table}_library")
        seek = both(*seek["sqlite"], index_of(table, "library", spec, by, edge))
    steps = {0: {e: (*seek[e], *text_index[e]) for e in ENGINES}}
    if prefix.startswith("global"):
        steps[-1] = {e: (f"ix_{table}_library", *text_index[e]) for e in ENGINES}
    return Case(f"{prefix}-{by or 'all'}", table, call, family, steps)


def do_jump(uow: UnitOfWork, at: Sample, *, kind: Kind, way: str, by: str | None) -> object:
    filters = filters_for(kind, by, at)
    return jump(uow, at.video_id, kind, way, from_ms=at.from_ms, filters=filters)


def do_global(
    uow: UnitOfWork, at: Sample, *, kind: Kind, way: str, by: str | None, start: str
) -> object:
    video = None if start == "edge" else at.video_id
    from_ms = at.from_ms if start == "time" else None
    filters = filters_for(kind, by, at)
    return global_jump(uow, kind, way, from_video_id=video, from_ms=from_ms, filters=filters)


def do_gallery(
    uow: UnitOfWork, at: Sample, *, kind: Kind, by: str | None, page: int, name: str | None
) -> object:
    filters = filters_for(kind, by, at)
    after = None
    for _ in range(page):
        found = gallery(uow, kind, filters=filters, filename=name, limit=20, after=after)
        after = found[-1].cursor
    return found


def do_counts(uow: UnitOfWork, at: Sample, *, kind: Kind, by: str | None) -> object:
    return counts_by_video(uow, kind, filters=filters_for(kind, by, at))


def do_find(
    uow: UnitOfWork, at: Sample, *, source: str, way: str, video: str, from_ms: int
) -> object:
    return find(uow, video, RARE, source=source, direction=way, from_ms=from_ms)


def cases() -> Iterator[Case]:
    for kind, spec in SPECS.items():
        table = spec.table.name
        for by in narrowed(spec):
            for way, edge in [("next", "start"), ("prev", "end")]:
                call = partial(do_jump, kind=kind, way=way, by=by)
                yield seek_case(f"jump-{kind}-{way}", spec, by, call, scope="video", edge=edge)
                for start in ("edge", "video", "time"):
                    call = partial(do_global, kind=kind, way=way, by=by, start=start)
                    name = f"global-{kind}-{way}-{start}"
                    yield seek_case(name, spec, by, call, scope="library", edge=edge)
            # A gallery page walks the library in (timeline_at, asset_id, start) order. The
            # end-edge index serves it too (ordered by timeline_at, asset_id, then an
            # incremental sort inside one video): PostgreSQL picks either on near-equal
            # costs, both bounded index walks.
            for page in (1, 2):
                call = partial(do_gallery, kind=kind, by=by, page=page, name=None)
                name = f"gallery-{kind}-page{page}"
                yield seek_case(name, spec, by, call, scope="library", edge="")
            # counting per video needs only (timeline_at, asset_id) order: either edge's index
            call = partial(do_counts, kind=kind, by=by)
            yield seek_case(f"counts-{kind}", spec, by, call, scope="library", edge="")
        # A rare file name: walking the library index and dropping other videos' rows, or
        # finding the videos first and reading theirs, are both index plans.
        family: tuple[str, ...] = (f"ix_{table}_library", f"ix_{table}_video")
        call = partial(do_gallery, kind=kind, by=None, page=1, name="video-013")
        yield Case(f"gallery-{kind}-filename", table, call, family, {0: both(*family)})
    for source in ("transcript", "ocr", "all"):
        for way, from_ms in [("next", 100_000), ("prev", 100_000)]:
            call = partial(do_find, source=source, way=way, video="video-0100", from_ms=from_ms)
            tables = ["transcript_fts", "ocr_fts"] if source == "all" else [f"{source}_fts"]
            family = tuple(
                name
                for table in tables
                for name in (
                    f"ix_{table}_video",
                    *full_text(table)["sqlite"],
                    *full_text(table)["postgresql"],
                )
            )
            yield Case(f"find-{source}-{way}", tables[0], call, family, {0: both(*family)})
    # In a long video a rare word must come from the full-text index on SQLite, where
    # matching the video's rows one by one re-runs the MATCH for each (50-400 ms here).
    # PostgreSQL matches each row's tsvector in about a microsecond and does read the
    # video's rows in time order: bounded by the video, where the GIN posting list of a
    # common word grows with the library (PostgresBackend.text_match). The long talk is
    # most of this library's transcript rows, so reading the table is a fair plan too.
    for way, from_ms in [("next", 0), ("prev", 10**9)]:
        call = partial(do_find, source="transcript", way=way, video=LONG, from_ms=from_ms)
        family = ("ix_transcript_fts_video", "transcript_fts_idx", "ix_transcript_fts_text_tsv")
        steps = {0: {"sqlite": ("transcript_fts_idx",), "postgresql": ("ix_transcript_fts_video",)}}
        yield Case(f"find-long-{way}", "transcript_fts", call, family, steps, ("postgresql",))


CASES = list(cases())


def projection_indexes(plan: Plan) -> set[str]:
    """The indexes (and FTS5 tables) of projection tables a plan uses."""
    owned = tuple(
        prefix
        for table in PROJECTIONS
        for prefix in (f"ix_{table}_", f"pk_{table}", f"uq_{table}_", f"{table}_idx")
    )
    return {index for index in plan.indexes if index.startswith(owned)}


def problems_of(store: Store, case: Case, at: Sample) -> list[str]:
    """What is wrong with the plans of one case's statements (nothing: empty)."""
    engine = store.backend.name
    with store.unit_of_work(write=False) as uow:
        # nothing there is an answer too: its statements count all the same
        with captured(store) as seen, suppress(NotFound):
            case.call(uow, at)
        statements = [s for s in seen if s.projection is not None]
        plans = [explain(uow.connection, s) for s in statements]
    if not statements:
        return [f"{case.name}: no statement read a projection table"]
    found = []
    for number, (statement, plan) in enumerate(zip(statements, plans, strict=True)):
        used = projection_indexes(plan)
        wanted = case.steps.get(number) or case.steps.get(number - len(statements))
        if engine in case.whole_video and plan.table_scans and not used:
            continue  # the planner read the video through the table: nothing else to check
        complaints = [
            *(["scans the table"] if plan.table_scans & PROJECTIONS else []),
            *(["uses no index of the table"] if not used else []),
            *([f"uses {sorted(used)}"] if not all(i.startswith(case.family) for i in used) else []),
            *(
                [f"uses none of {wanted[engine]}"]
                if wanted and not any(i.startswith(wanted[engine]) for i in used)
                else []
            ),
        ]
        if complaints:
            found.append(
                f"{case.name}, statement {number}: {'; '.join(complaints)}\n"
                f"{statement.sql}\n--- plan ---\n{plan.text}"
            )
    return found


def test_navigation_reads_projections_only_through_their_indexes(library: Store) -> None:
    """Every case on one engine in one test, so that the library is loaded once per engine
    even when the suite runs on several pytest-xdist workers."""
    at = sample(library)
    problems = [problem for case in CASES for problem in problems_of(library, case, at)]
    assert not problems, f"{len(problems)} statements off their index:\n\n" + "\n\n".join(problems)


def test_postgresql_full_text_indexes_keep_their_pending_list_small(
    stores: dict[str, Store],
) -> None:
    """With GIN's default pending list (4 MB), this library's ingest left 22,800 entries
    (421 pages) that every search scans linearly until a VACUUM; PostgreSQL then priced the
    index so high that find in a long video scanned the whole table (17 ms, against 0.5 ms
    through the index once vacuumed). The plans above cannot catch it reliably (autovacuum
    may or may not have run), so the setting itself is checked.
    """
    query = text("SELECT reloptions FROM pg_class WHERE relname = :name")
    with stores["postgresql"].engine.connect() as conn:
        for table in ("transcript_fts", "ocr_fts"):
            options = conn.execute(query, {"name": f"ix_{table}_text_tsv"}).scalar_one()
            assert f"gin_pending_list_limit={GIN_PENDING_LIST_KB}" in (options or []), table
