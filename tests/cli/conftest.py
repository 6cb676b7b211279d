"""CLI fixtures: a runner bound to a database URL, and a small library to work on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from eioku.cli import app
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus, StageStatus
from eioku.domain.selection import SelectionMode, SelectionPolicy
from eioku.storage.store import Store
from eioku.storage.tables import artifact_selections, artifacts, runs, videos
from tests.factories import later, make_artifact, make_run, make_video

ALL_TYPES = (
    "face.detection",
    "object.detection",
    "ocr.text",
    "place.classification",
    "scene",
    "transcript.segment",
    "video.metadata",
)


@dataclass(frozen=True)
class Cli:
    """Runs ``eioku --database-url URL ...`` in-process, wide enough that tables never wrap."""

    url: str

    def __call__(self, *args: str, input: bytes | str | None = None) -> Result:
        runner = CliRunner(env={"COLUMNS": "250"})
        return runner.invoke(app, ["--database-url", self.url, *args], input=input)


def url_of(store: Store) -> str:
    """The URL a store was opened with (passwords included, for the CLI to reopen it)."""
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def cli(store: Store) -> Cli:
    """The CLI on the migrated, empty database of the ``store`` fixture (once per engine)."""
    return Cli(url_of(store))


def user_error(result: Result) -> str:
    """Assert ``result`` is a one-line user error without traceback; return that line."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def row_counts(store: Store) -> dict[str, int]:
    """Rows in each primary table: an import that failed must leave them all at 0."""
    with store.unit_of_work(write=False) as uow:
        return {
            table.name: uow.connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (videos, runs, artifacts, artifact_selections)
        }


@dataclass(frozen=True)
class Library:
    """Ids of the sample library (see :func:`populate`)."""

    video_a: str
    video_b: str
    run_fast: str
    run_hq: str
    run_b: str
    tie_ids: Sequence[str]
    pinned_object: str


def populate(store: Store) -> Library:
    """Two videos; A has a fast and a later high-quality run, B one run with every type.

    A's fast run has two transcript segments starting at the same time (ties), an object
    and a unicode payload; a pinned-artifact policy (A, object.detection) and a profile
    policy (B, scene) are stored.
    """
    video_a = make_video("vid-a", recorded_at=later(5), duration_ms=90_000)
    video_b = make_video("vid-b", path="/média/b ☕.mp4", filename="b ☕.mp4")
    run_fast = make_run(
        "vid-a", profile=ModelProfile.FAST, run_id="run-fast", stages=("transcribe", "objects")
    )
    run_fast = run_fast.model_copy(
        update={
            "status": RunStatus.COMPLETED,
            "finished_at": later(3),
            "stages": tuple(
                stage.model_copy(
                    update={
                        "status": StageStatus.COMPLETED,
                        "progress": 1.0,
                        "started_at": later(1),
                    }
                )
                for stage in run_fast.stages
            ),
        }
    )
    run_hq = make_run(
        "vid-a", profile=ModelProfile.HIGH_QUALITY, run_id="run-hq", started_at=later(10)
    )
    run_b = make_run("vid-b", run_id="run-b", status=RunStatus.FAILED)
    run_b = run_b.model_copy(update={"error": "stage ocr: boom"})
    fast = [
        make_artifact(run_fast, start=0, artifact_id="tie-b"),
        make_artifact(run_fast, start=0, artifact_id="tie-a"),
        make_artifact(run_fast, start=1000, payload={"text": "café ☕ 日本", "speaker": "S1"}),
        make_artifact(run_fast, start=5000, end=6000),
        make_artifact(run_fast, "object.detection", start=500, artifact_id="obj-1"),
    ]
    hq = [make_artifact(run_hq, start=start) for start in (0, 1500, 7000)]
    every = [make_artifact(run_b, kind, start=index * 100) for index, kind in enumerate(ALL_TYPES)]
    with store.unit_of_work() as uow:
        for video in (video_a, video_b):
            uow.videos.add(video)
        for run in (run_fast, run_hq, run_b):
            uow.runs.create(run)
        uow.artifacts.batch_create(fast + hq + every)
        profile = SelectionPolicy(
            mode=SelectionMode.PROFILE, preferred_profile=ModelProfile.BALANCED
        )
        uow.selections.set("vid-b", "scene", profile)
        pin = SelectionPolicy(mode=SelectionMode.PINNED, pinned_artifact_id="obj-1")
        uow.selections.set("vid-a", "object.detection", pin)
    return Library("vid-a", "vid-b", "run-fast", "run-hq", "run-b", ("tie-a", "tie-b"), "obj-1")


@pytest.fixture
def library(store: Store) -> Library:
    """The sample library in the ``store`` fixture's database."""
    return populate(store)
