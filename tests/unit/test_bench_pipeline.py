"""The pipeline benchmark's code path on a seconds-long video (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.cli import main
from bench.pipeline import PipelineOptions, measure
from bench.pipeline_report import tables

from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import StageStatus

FRAMES = 150  # 6 s at 25 fps


def _options(tmp_path: Path, **changes: object) -> PipelineOptions:
    settings: dict[str, object] = {
        "profiles": (ModelProfile.FAST,),
        "stages": ("metadata", "scenes", "objects"),
        "minutes": 0.1,
        "size": (320, 180),
        "model_dir": tmp_path / "models",  # empty: objects has no weights and is skipped
        "keep": tmp_path / "keep",
    }
    settings.update(changes)
    return PipelineOptions(**settings)  # type: ignore[arg-type]


def test_measures_the_floor_whole_runs_and_each_stage_alone(tmp_path: Path) -> None:
    options = _options(tmp_path)
    results = measure(options, lambda _line: None)
    assert results.video.generated is not None
    assert results.floor.frames == results.floor.converted == FRAMES
    assert abs(results.floor.audio_samples - 6 * 16_000) < 1_600  # AAC pads a little
    [whole] = results.whole
    status = {s.outcome.stage: s.outcome for s in whole.outcomes}
    assert status["metadata"].status is StageStatus.COMPLETED
    assert status["scenes"].status is StageStatus.COMPLETED
    assert status["scenes"].artifact_count == 1  # the 6 s demo is one shot
    assert status["objects"].status is StageStatus.SKIPPED
    assert "YOLO" in (status["objects"].message or "")
    assert whole.media_ms == 6000
    assert [r.stages for r in results.alone] == [("metadata",), ("scenes",), ("objects",)]

    floor, runs, stages, settings = tables(results, options)
    assert [row[1] for row in runs.rows] == ["fast"]
    assert runs.rows[0][2] == "completed"
    rows = {row[2]: row for row in stages.rows}
    assert list(rows) == ["metadata", "scenes", "objects"]
    assert rows["objects"][3] == "skipped"
    assert "YOLO" in rows["objects"][-1]
    assert rows["scenes"][8].endswith("x")  # the stage's real-time factor alone
    assert floor.rows[1][1] == str(FRAMES)
    assert [row[:2] for row in settings.rows] == [
        ("metadata", "fast"),
        ("scenes", "fast"),
        ("objects", "fast"),
    ]
    assert "max_side=256" in settings.rows[1][2]

    again = measure(_options(tmp_path, isolated=False), lambda _line: None)
    assert again.video.generated is None  # reused from keep
    assert again.video.path == results.video.path
    assert again.alone == []


def test_command_line_prints_the_pipeline_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "--only",
            "pipeline",
            "--minutes",
            "0.05",
            "--profiles",
            "fast",
            "--stages",
            "metadata",
            "--no-isolated",
            "--model-dir",
            str(tmp_path),
            "--format",
            "markdown",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "**Pipeline: whole runs" in out
    assert "| sqlite | fast | completed |" in out
