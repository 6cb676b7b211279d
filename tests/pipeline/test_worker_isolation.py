"""Plan 19.4: runs executing at the same time in separate worker processes, one of them
with a stage whose batch fails validation, do not disturb each other. The stages are the
stand-ins of tests/pipeline/standins.py (declared as an ``eioku.stages`` plugin so the
spawned workers find them), not engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import RunStatus, StageStatus
from eioku.pipeline import stages as registry
from eioku.pipeline.ingest import plan_run, register
from eioku.pipeline.local import LocalRunQueue
from eioku.pipeline.models import ModelLibrary
from eioku.storage.store import Store
from tests.api.conftest import url_of
from tests.media import make_video
from tests.pipeline.standins import write_plugin_site


def test_a_stage_failing_validation_in_one_worker_leaves_the_other_alone(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    monkeypatch.setenv("PYTHONPATH", write_plugin_site(site))
    monkeypatch.syspath_prepend(str(site))  # spawned workers start from the parent's sys.path
    registry._plugins.cache_clear()
    models = ModelLibrary(tmp_path / "models")
    plans = []
    for name, stages in (("good", ("test_marks",)), ("bad", ("test_marks", "test_bad_batch"))):
        clip = make_video(tmp_path / f"{name}.mp4", seconds=3, fps=10, size=(96, 64))
        video = register(store, clip)
        plans.append(plan_run(store, video, ModelProfile.FAST, stages, models))
    queue = LocalRunQueue(url_of(store), tmp_path / "models", workers=2)
    try:
        futures = [queue.submit(plan.run.run_id) for plan in plans if plan.run is not None]
        results = [future.result(timeout=120) for future in futures]
    finally:
        queue.shutdown()
        registry._plugins.cache_clear()
    assert results == ["completed", "failed"]
    with store.unit_of_work(write=False) as uow:
        good = uow.runs.get(plans[0].run.run_id)  # type: ignore[union-attr]
        bad = uow.runs.get(plans[1].run.run_id)  # type: ignore[union-attr]
    assert good.status is RunStatus.COMPLETED
    assert [s.status for s in good.stages] == [StageStatus.COMPLETED]
    states = {s.stage: s.status for s in bad.stages}
    assert states == {"test_marks": StageStatus.COMPLETED, "test_bad_batch": StageStatus.FAILED}
    assert "scene_index" in (bad.error or "")
