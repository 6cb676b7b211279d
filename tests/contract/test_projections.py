"""Projections stay in step with artifacts on every engine (SPEC §6, §10 property 7)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Table, func, select

from eioku.domain.envelope import ArtifactEnvelope
from eioku.domain.errors import InvalidInput, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import Run
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.domain.text_query import parse_text_query
from eioku.domain.videos import Video
from eioku.projections import PROJECTIONS, projections_for
from eioku.storage.projections import TABLES, projection_names
from eioku.storage.store import Store, UnitOfWork
from eioku.storage.tables import (
    artifact_selections,
    artifacts,
    run_outputs,
    run_stages,
    runs,
    transcript_fts,
)
from tests.conftest import clean
from tests.factories import (
    PAYLOAD_STRATEGIES,
    artifact_specs,
    build_artifact,
    later,
    make_artifact,
    make_run,
    make_video,
    profile_st,
    seed_runs,
    store_settings,
)

KINDS = tuple(sorted(PAYLOAD_STRATEGIES))
PROJECTED = {p.artifact_type for p in PROJECTIONS}
for_store = store_settings()


LATEST = SelectionPolicy(mode=SelectionMode.LATEST)
STORABLE = (SelectionMode.LATEST, SelectionMode.PROFILE, SelectionMode.BEST_QUALITY)


@dataclass
class Library:
    """The reference model: what was stored, and what each projection row must say."""

    videos: dict[str, Video]
    runs: dict[str, Run]
    policies: dict[tuple[str, str], SelectionPolicy] = field(default_factory=dict)

    def selected_runs(self, alive: list[ArtifactEnvelope], video: str, kind: str) -> set[str]:
        """SPEC §5 for the default read: the stored policy, else latest."""
        produced = {e.run_id for e in alive if e.asset_id == video and e.artifact_type == kind}
        candidates = [self.runs[run_id] for run_id in produced]
        policy = self.policies.get((video, kind), LATEST)
        if policy.mode is SelectionMode.PINNED:
            return {str(policy.pinned_run_id)}
        if policy.mode is SelectionMode.PROFILE:
            candidates = [r for r in candidates if r.pipeline_profile is policy.preferred_profile]
        if policy.mode is SelectionMode.BEST_QUALITY and candidates:
            best = max(RANK.index(r.pipeline_profile) for r in candidates)
            candidates = [r for r in candidates if RANK.index(r.pipeline_profile) == best]
        if not candidates:
            return set()
        return {max(candidates, key=lambda r: (r.started_at, r.run_id)).run_id}

    def rows(self, table: Table, alive: list[ArtifactEnvelope]) -> list[tuple[Any, ...]]:
        """What ``snapshot`` must show for ``table``: one row per accepted artifact,
        placed on its video's timeline and flagged when the default read selects it."""
        columns = [c.name for c in table.columns if c.name != "id"]
        rows = []
        for e in alive:
            for projection in projections_for(e.artifact_type, e.schema_version):
                if projection.table != table.name:
                    continue
                selected = self.selected_runs(alive, e.asset_id, e.artifact_type)
                row = {
                    **projection.row(e),
                    "timeline_at": self.videos[e.asset_id].timeline_at,
                    "selected": e.run_id in selected,
                }
                rows.append(tuple(row[name] for name in columns))
        return sorted(rows, key=lambda row: row[0])


RANK = [ModelProfile.FAST, ModelProfile.BALANCED, ModelProfile.HIGH_QUALITY]


def expected_outputs(envelopes: list[ArtifactEnvelope]) -> list[tuple[Any, ...]]:
    counted = Counter(
        (e.run_id, e.asset_id, e.artifact_type, e.model_profile.value) for e in envelopes
    )
    rows = [(*key, count) for key, count in counted.items()]
    # snapshot orders run_outputs by its primary key (run_id, artifact_type, model_profile)
    return sorted(rows, key=lambda row: (row[0], row[2], row[3]))


def snapshots(uow: UnitOfWork) -> dict[str, list[tuple[Any, ...]]]:
    return {name: uow.projections.snapshot(name) for name in projection_names()}


def assert_in_step(uow: UnitOfWork, library: Library, alive: list[ArtifactEnvelope]) -> None:
    for name, table in TABLES.items():
        assert uow.projections.snapshot(name) == library.rows(table, alive), name
    assert uow.projections.snapshot("run_outputs") == expected_outputs(alive)


def test_every_projection_reads_one_type_and_every_projected_type_has_one_table() -> None:
    assert sorted(p.table for p in PROJECTIONS) == sorted(TABLES)
    for kind in KINDS:
        tables = [p.table for p in projections_for(kind, 1)]
        assert len(tables) == (1 if kind in PROJECTED else 0), kind
    assert "video.metadata" not in PROJECTED


@st.composite
def libraries(draw: st.DrawFn) -> Library:
    """Two videos (one with a recorded_at) and up to four runs over them."""
    recorded = draw(st.integers(min_value=-5, max_value=5))
    videos = {
        "video-0": make_video("video-0", recorded_at=later(recorded)),
        "video-1": make_video("video-1"),
    }
    runs = {}
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        run = make_run(
            f"video-{draw(st.integers(0, 1))}",
            profile=draw(profile_st),
            started_at=later(draw(st.integers(0, 2))),
            run_id=f"run-{index}",
        )
        runs[run.run_id] = run
    return Library(videos, runs)


@st.composite
def stored_policies(draw: st.DrawFn, library: Library) -> dict[tuple[str, str], SelectionPolicy]:
    chosen: dict[tuple[str, str], SelectionPolicy] = {}
    for video in library.videos:
        for kind in sorted(PROJECTED):
            own_runs = sorted(r for r, run in library.runs.items() if run.asset_id == video)
            pick = draw(
                st.sampled_from([None, *STORABLE] + ([SelectionMode.PINNED] * bool(own_runs)))
            )
            if pick is None:
                continue
            chosen[(video, kind)] = SelectionPolicy(
                mode=pick,
                preferred_profile=draw(profile_st) if pick is SelectionMode.PROFILE else None,
                pinned_run_id=draw(st.sampled_from(own_runs))
                if pick is SelectionMode.PINNED
                else None,
            )
    return chosen


@for_store
@given(data=st.data())
def test_projection_rows_match_the_artifacts_through_writes_policies_deletes_and_rebuild(
    store: Store, data: st.DataObject
) -> None:
    clean(store)
    library = data.draw(libraries())
    run_ids = sorted(library.runs)
    made = 0

    def draw_batch() -> list[ArtifactEnvelope]:
        nonlocal made
        specs = data.draw(
            st.lists(st.tuples(artifact_specs(), st.sampled_from(run_ids)), max_size=12)
        )
        batch = []
        for spec, run_id in specs:
            made += 1
            batch.append(
                build_artifact(library.runs[run_id], {**spec, "artifact_id": f"a-{made:03d}"})
            )
        return batch

    with store.unit_of_work() as uow:
        for video in library.videos.values():
            seed_runs(
                uow, video, *[r for r in library.runs.values() if r.asset_id == video.video_id]
            )
        alive = uow.artifacts.batch_create(draw_batch())
        assert_in_step(uow, library, alive)
    with store.unit_of_work() as uow:  # policies change which rows are selected
        library.policies = data.draw(stored_policies(library))
        for (video, kind), policy in library.policies.items():
            uow.selections.set(video, kind, policy)
        assert_in_step(uow, library, alive)
    with store.unit_of_work() as uow:  # newer runs' artifacts can displace older ones
        alive += uow.artifacts.batch_create(draw_batch())
        assert_in_step(uow, library, alive)
    doomed = data.draw(st.sets(st.sampled_from([e.artifact_id for e in alive]))) if alive else set()
    with store.unit_of_work() as uow:
        for artifact_id in sorted(doomed):
            uow.artifacts.delete(artifact_id)
        alive = [e for e in alive if e.artifact_id not in doomed]
        assert_in_step(uow, library, alive)
    with store.unit_of_work() as uow:
        cleared = (
            data.draw(st.sets(st.sampled_from(sorted(library.policies))))
            if library.policies
            else set()
        )
        for video, kind in sorted(cleared):
            assert uow.selections.delete(video, kind)
            del library.policies[(video, kind)]
        assert_in_step(uow, library, alive)
        before = snapshots(uow)
        rebuilt = uow.projections.rebuild(None, uow.artifacts.iter_by_type)
        assert snapshots(uow) == before
        assert rebuilt == {name: len(rows) for name, rows in before.items()}


def test_rebuild_of_dropped_rows_restores_them_and_keeps_search_working(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        stored = uow.artifacts.batch_create(
            [
                make_artifact(run, "transcript.segment", payload={"text": "green gardens"}),
                make_artifact(run, "transcript.segment", start=9, payload={"text": "red boats"}),
                make_artifact(run, "object.detection", start=4),
            ]
        )
    query = parse_text_query("garden")
    with store.unit_of_work() as uow:
        before = snapshots(uow)
        for table in TABLES.values():
            uow.connection.execute(table.delete())
        uow.connection.execute(run_outputs.delete())
        assert (
            uow.backend.text_search(
                uow.connection, transcript_fts, query, asset_id=None, run_ids=None, limit=10
            )
            == []
        )
        uow.projections.rebuild(None, uow.artifacts.iter_by_type)
        assert snapshots(uow) == before
        hits = uow.backend.text_search(
            uow.connection, transcript_fts, query, asset_id=None, run_ids=None, limit=10
        )
        assert [hit.artifact_id for hit in hits] == [stored[0].artifact_id]


def test_rebuild_of_one_named_table_leaves_the_others_alone(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        uow.artifacts.batch_create([make_artifact(run, kind, start=1) for kind in KINDS])
    with store.unit_of_work() as uow:
        uow.connection.execute(TABLES["object_labels"].delete())
        uow.connection.execute(TABLES["scene_ranges"].delete())
        assert uow.projections.rebuild(["object_labels"], uow.artifacts.iter_by_type) == {
            "object_labels": 1
        }
        assert len(uow.projections.snapshot("object_labels")) == 1
        assert uow.projections.snapshot("scene_ranges") == []


def test_rebuilding_an_unknown_projection_is_invalid_input(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(InvalidInput, match="nonsense"):
        uow.projections.rebuild(["nonsense"], uow.artifacts.iter_by_type)


def test_projection_rows_carry_selection_columns_of_their_artifact(store: Store) -> None:
    video = make_video()
    run = make_run(video.video_id)
    with store.unit_of_work() as uow:
        seed_runs(uow, video, run)
        face = uow.artifacts.create(make_artifact(run, "face.detection", start=7, end=9))
    with store.unit_of_work(write=False) as uow:
        (row,) = uow.connection.execute(select(TABLES["face_clusters"])).mappings().all()
    assert row["artifact_id"] == face.artifact_id
    assert (row["asset_id"], row["run_id"]) == (video.video_id, run.run_id)
    assert (row["model_profile"], row["start_ms"], row["end_ms"]) == ("balanced", 7, 9)
    assert (row["cluster_id"], row["confidence"]) == ("person-1", 0.95)


# -- deleting a video ----------------------------------------------------------------------


def count_for(uow: UnitOfWork, table: Table, column: str, value: str) -> int:
    query = select(func.count()).select_from(table).where(table.c[column] == value)
    return int(uow.connection.execute(query).scalar_one())


def test_deleting_a_video_removes_its_runs_artifacts_projections_outputs_and_policies(
    store: Store,
) -> None:
    doomed, kept = make_video(), make_video()
    doomed_run = make_run(doomed.video_id, stages=("ocr", "scenes"))
    kept_run = make_run(kept.video_id, stages=("ocr",))
    with store.unit_of_work() as uow:
        seed_runs(uow, doomed, doomed_run)
        seed_runs(uow, kept, kept_run)
        for run in (doomed_run, kept_run):
            uow.artifacts.batch_create([make_artifact(run, kind, start=3) for kind in KINDS])
            for kind in KINDS:
                uow.selections.set(
                    run.asset_id, kind, SelectionPolicy(mode=SelectionMode.BEST_QUALITY)
                )
    with store.unit_of_work() as uow:
        uow.videos.delete(doomed.video_id)
    with store.unit_of_work(write=False) as uow:
        assert not uow.videos.exists(doomed.video_id)
        with pytest.raises(NotFound):
            uow.runs.get(doomed_run.run_id)
        assert count_for(uow, run_stages, "run_id", doomed_run.run_id) == 0
        for table in (artifacts, run_outputs, artifact_selections, *TABLES.values()):
            column = "asset_id"
            assert count_for(uow, table, column, doomed.video_id) == 0, table.name
        assert count_for(uow, runs, "asset_id", doomed.video_id) == 0
        # the other video is untouched
        assert len(uow.artifacts.get_by_asset(kept.video_id)) == len(KINDS)
        assert count_for(uow, artifact_selections, "asset_id", kept.video_id) == len(KINDS)
        assert count_for(uow, run_stages, "run_id", kept_run.run_id) == 1
        for name, table in TABLES.items():
            assert count_for(uow, table, "asset_id", kept.video_id) == 1, name


def test_deleting_an_unknown_video_is_not_found(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.videos.delete("missing")
