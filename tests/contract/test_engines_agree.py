"""SQLite and PostgreSQL give the same answers to the same random operations (STYLE.md 4).

One Hypothesis state machine drives both stores with identical operations — videos, runs
and their transitions, valid and invalid batches, deletes, selection policies — and after
every step checks that reads, text search, run states and errors agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import EiokuError
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.domain.text_query import parse_text_query
from eioku.storage.artifacts import SpanFilter
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import ocr_fts, transcript_fts
from tests.conftest import clean
from tests.factories import (
    PAYLOAD_STRATEGIES,
    later,
    make_artifact,
    make_run,
    make_video,
    sentence_st,
    spans,
    store_settings,
    word_form_st,
)

KINDS = tuple(sorted(PAYLOAD_STRATEGIES))
TEXT_KINDS = {"transcript.segment": transcript_fts, "ocr.text": ocr_fts}
BROKEN: dict[str, dict[str, Any]] = {kind: {"frame_number": -1} for kind in KINDS}
FAULTS = (None, None, None, "invalid", "repeated", "stored", "other_video", "ghost_run")
M = SelectionMode
MAX_VIDEOS = 4  # every check reads every video: keep the library small, the steps cheap
placements = st.lists(st.tuples(st.sampled_from(KINDS), spans(max_ms=2_000)), max_size=6)

Outcome = tuple[str, Any]


def outcome(store: Store, action: Callable[[UnitOfWork], Any], *, write: bool) -> Outcome:
    """What one engine answers: ("ok", value) or ("error", error class name)."""
    try:
        with store.unit_of_work(write=write) as uow:
            return ("ok", action(uow))
    except EiokuError as exc:
        return ("error", type(exc).__name__)


def comparable(envelopes: list[ArtifactEnvelope]) -> list[dict[str, Any]]:
    """Envelopes without created_at, which each engine stamps with its own clock."""
    return [e.model_dump(mode="json", exclude={"created_at"}) for e in envelopes]


@st.composite
def payloads(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    payload = draw(PAYLOAD_STRATEGIES[kind])
    if kind in TEXT_KINDS:
        payload["text"] = draw(sentence_st)
    return payload


def build_machine(sqlite: Store, postgresql: Store) -> type[RuleBasedStateMachine]:
    engines = (sqlite, postgresql)

    class EnginesAgree(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            for store in engines:
                clean(store)
            self.made = 0
            self.videos: list[str] = []
            self.run_video: dict[str, str] = {}
            self.run_profile: dict[str, ModelProfile] = {}
            self.artifact_ids: list[str] = []

        def next_id(self, prefix: str) -> str:
            self.made += 1
            return f"{prefix}-{self.made:04d}"

        def both(self, action: Callable[[UnitOfWork], Any], *, write: bool = True) -> Outcome:
            first, second = (outcome(store, action, write=write) for store in engines)
            assert first == second, f"sqlite: {first!r}\npostgresql: {second!r}"
            return first

        def any_video(self, data: st.DataObject) -> str:
            return data.draw(st.sampled_from([*self.videos, "no-such-video"]), label="video")

        def any_run(self, data: st.DataObject) -> str:
            return data.draw(st.sampled_from(sorted(self.run_video)), label="run")

        @initialize(
            runs=st.lists(
                st.tuples(
                    st.integers(0, 1), st.sampled_from(list(ModelProfile)), st.integers(0, 3)
                ),
                min_size=1,
                max_size=4,
            ),
            data=st.data(),
        )
        def library(self, runs: list[tuple[int, ModelProfile, int]], data: st.DataObject) -> None:
            """Two videos with a few runs, each of which has stored one batch."""
            for _ in range(2):
                self.add_video()
            for video, profile, minute in runs:
                run = self.create_run_of(self.videos[video], profile, minute)
                self.batch_create(run=run, placed=data.draw(placements), fault=None, data=data)

        # -- writes ------------------------------------------------------------------

        @precondition(lambda self: len(self.videos) < MAX_VIDEOS)
        @rule()
        def add_video(self) -> None:
            video = make_video(self.next_id("video"))
            self.both(lambda uow: uow.videos.add(video).video_id)
            self.videos.append(video.video_id)
            self.agree_on_state()

        @rule(data=st.data())
        def add_video_again(self, data: st.DataObject) -> None:
            video = self.any_video(data)
            self.both(lambda uow: uow.videos.add(make_video(video)).video_id)
            self.agree_on_state()

        @rule(data=st.data(), profile=st.sampled_from(list(ModelProfile)), minute=st.integers(0, 3))
        def create_run(self, data: st.DataObject, profile: ModelProfile, minute: int) -> None:
            self.create_run_of(self.any_video(data), profile, minute)

        def create_run_of(self, video: str, profile: ModelProfile, minute: int) -> str:
            run = make_run(
                video, profile=profile, started_at=later(minute), run_id=self.next_id("run")
            )
            ok, _ = self.both(lambda uow: uow.runs.create(run).run_id)
            if ok == "ok":
                self.run_video[run.run_id] = video
                self.run_profile[run.run_id] = profile
            self.agree_on_state()
            return run.run_id

        @rule(data=st.data(), status=st.sampled_from(list(RunStatus)))
        def transition_run(self, data: st.DataObject, status: RunStatus) -> None:
            run = self.any_run(data)
            self.both(lambda uow: uow.runs.transition(run, status).status.value)
            self.agree_on_state()

        @rule(
            placed=placements,
            fault=st.sampled_from(FAULTS),
            data=st.data(),
        )
        def store_batch(
            self, placed: list[tuple[str, tuple[int, int]]], fault: str | None, data: st.DataObject
        ) -> None:
            self.batch_create(run=self.any_run(data), placed=placed, fault=fault, data=data)

        def batch_create(
            self,
            *,
            run: str,
            placed: list[tuple[str, tuple[int, int]]],
            fault: str | None,
            data: st.DataObject,
        ) -> None:
            if run not in self.run_video:
                return
            owner = make_run(self.run_video[run], profile=self.run_profile[run], run_id=run)
            batch = [
                make_artifact(
                    owner,
                    kind,
                    start=start,
                    end=end,
                    payload=data.draw(payloads(kind)),
                    artifact_id=self.next_id("artifact"),
                )
                for kind, (start, end) in placed
            ]
            if batch and fault is not None:
                batch = self.spoil(batch, fault, data)
            ok, _ = self.both(
                lambda uow: [e.artifact_id for e in uow.artifacts.batch_create(batch)]
            )
            if ok == "ok":
                self.artifact_ids += [e.artifact_id for e in batch]
            self.agree_on_state()

        def spoil(
            self, batch: list[ArtifactEnvelope], fault: str, data: st.DataObject
        ) -> list[ArtifactEnvelope]:
            """Make one item of ``batch`` bad in the way ``fault`` names."""
            index = data.draw(st.integers(0, len(batch) - 1))
            item = batch[index]
            update: dict[str, Any] = {}
            if fault == "invalid":
                update = {"payload": {**item.payload, **BROKEN[item.artifact_type]}}
            elif fault == "repeated":
                update = {"artifact_id": batch[0].artifact_id}
            elif fault == "stored" and self.artifact_ids:
                update = {"artifact_id": data.draw(st.sampled_from(self.artifact_ids))}
            elif fault == "other_video":
                update = {"asset_id": "no-such-video"}
            elif fault == "ghost_run":
                update = {"run_id": "ghost-run"}
            spoilt = list(batch)
            spoilt[index] = item.model_copy(update=update)
            return spoilt

        @rule(data=st.data())
        def delete_artifact(self, data: st.DataObject) -> None:
            artifact_id = data.draw(st.sampled_from([*self.artifact_ids, "no-such-artifact"]))
            self.both(lambda uow: uow.artifacts.delete(artifact_id))
            self.agree_on_state()

        @rule(data=st.data())
        def delete_video(self, data: st.DataObject) -> None:
            video = self.any_video(data)
            self.both(lambda uow: uow.videos.delete(video))
            self.agree_on_state()

        @rule(kind=st.sampled_from(KINDS), data=st.data())
        def set_policy(self, kind: str, data: st.DataObject) -> None:
            video = self.any_video(data)
            policy = data.draw(self.policies(stored=True))
            self.both(lambda uow: uow.selections.set(video, kind, policy).mode.value)
            self.both(lambda uow: uow.selections.get(video, kind), write=False)
            self.agree_on_state()

        @rule(kind=st.sampled_from(KINDS), data=st.data())
        def clear_policy(self, kind: str, data: st.DataObject) -> None:
            video = self.any_video(data)
            self.both(lambda uow: uow.selections.delete(video, kind))
            self.both(lambda uow: uow.selections.get(video, kind), write=False)
            self.agree_on_state()

        def policies(self, *, stored: bool) -> st.SearchStrategy[SelectionPolicy]:
            """Mostly valid policies; pins name any known run or artifact, or none.

            ``all`` and ``default`` are read-time modes: storing them is an error.
            """
            simple = st.builds(
                SelectionPolicy,
                mode=st.sampled_from([M.LATEST, M.PROFILE, M.BEST_QUALITY]),
                preferred_profile=st.sampled_from(list(ModelProfile)),
            )
            read_only = st.sampled_from([M.ALL, M.DEFAULT]).map(lambda m: SelectionPolicy(mode=m))
            run_pin = st.builds(
                SelectionPolicy,
                mode=st.just(M.PINNED),
                pinned_run_id=st.sampled_from([*self.run_video, "no-such-run"]),
            )
            artifact_pin = st.builds(
                SelectionPolicy,
                mode=st.just(M.PINNED),
                pinned_artifact_id=st.sampled_from([*self.artifact_ids, "no-such-artifact"]),
            )
            if stored:
                return st.one_of(simple, simple, run_pin, artifact_pin, read_only)
            return st.one_of(simple, run_pin, artifact_pin, read_only, read_only)

        # -- reads -------------------------------------------------------------------

        @rule(
            kind=st.none() | st.sampled_from(KINDS),
            window=st.none() | spans(max_ms=2_500),
            data=st.data(),
        )
        def read_artifacts(
            self, kind: str | None, window: tuple[int, int] | None, data: st.DataObject
        ) -> None:
            video = self.any_video(data)
            selection = data.draw(self.policies(stored=False))
            filters = SpanFilter(artifact_type=kind)
            if window is not None:
                filters = SpanFilter(artifact_type=kind, from_ms=window[0], to_ms=window[1])
            self.both(
                lambda uow: comparable(
                    uow.artifacts.get_by_asset(video, filters, selection=selection)
                ),
                write=False,
            )
            if window is not None:
                self.both(
                    lambda uow: comparable(
                        uow.artifacts.get_by_span(video, *window, artifact_type=kind)
                    ),
                    write=False,
                )

        @rule(
            words=st.lists(word_form_st, min_size=1, max_size=3),
            quoted=st.booleans(),
            kind=st.sampled_from(sorted(TEXT_KINDS)),
            data=st.data(),
        )
        def search_text(
            self, words: list[str], quoted: bool, kind: str, data: st.DataObject
        ) -> None:
            video = data.draw(st.none() | st.sampled_from(self.videos), label="video")
            raw = f'"{" ".join(words)}"' if quoted else " ".join(words)
            query = parse_text_query(raw)
            run_ids = data.draw(st.none() | st.lists(st.sampled_from([*self.run_video, "x"])))
            self.both(
                lambda uow: [
                    (h.artifact_id, h.asset_id, h.run_id, h.start_ms, h.end_ms)
                    for h in uow.backend.text_search(
                        uow.connection,
                        TEXT_KINDS[kind],
                        query,
                        asset_id=video,
                        run_ids=run_ids,
                        limit=50,
                    )
                ],
                write=False,
            )

        def agree_on_state(self) -> None:
            """Run states, and every video's artifacts (all of them, and those read by default)."""
            every = SelectionPolicy(mode=M.ALL)

            def state(uow: UnitOfWork) -> Any:
                runs = [
                    (r.run_id, r.asset_id, r.status.value, r.error, r.finished_at is None)
                    for r in uow.runs.list_all()
                ]
                read = uow.artifacts.get_by_asset
                return runs, {
                    video: (
                        [e.artifact_id for e in read(video)],
                        comparable(read(video, selection=every)),
                    )
                    for video in uow.videos.all_ids()
                }

            self.both(state, write=False)

    return EnginesAgree


def test_sqlite_and_postgresql_agree_on_random_operations(stores: dict[str, Store]) -> None:
    machine = build_machine(stores["sqlite"], stores["postgresql"])
    base = store_settings()
    run_state_machine_as_test(machine, settings=settings(base, stateful_step_count=12))
