"""A schema version added by a plugin is stored beside v1 on every engine (SPEC §3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from eioku.domain.errors import SchemaValidationError
from eioku.domain.schemas.registry import load_registry
from eioku.projections import projections_for
from eioku.storage.store import Store
from eioku.storage.tables import transcript_fts
from tests.factories import make_artifact, make_run, make_video, seed_runs, write_schema_plugin


def test_a_plugin_v2_artifact_round_trips_beside_v1_and_gets_no_projection_row(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_schema_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry()
    assert registry.versions("transcript.segment") == [1, 2]
    # Projections list the versions they understand: a v2 transcript is stored and read,
    # but feeds no projection until transcript_fts learns v2 (documented behaviour).
    assert projections_for("transcript.segment", 2) == ()
    with_plugin = Store(store.engine.url.render_as_string(hide_password=False), registry)
    try:
        video = make_video()
        run = make_run(video.video_id)
        words = [{"word": "hello", "start_ms": 0, "end_ms": 400}]
        v1 = make_artifact(run, payload={"text": "hello"}, start=0)
        v2 = make_artifact(
            run, payload={"text": "hello", "words": words}, start=10, schema_version=2
        )
        with with_plugin.unit_of_work() as uow:
            seed_runs(uow, video, run)
            stored = uow.artifacts.batch_create([v1, v2])
        with with_plugin.unit_of_work(write=False) as uow:
            old, new = (uow.artifacts.get_by_id(e.artifact_id) for e in (v1, v2))
            assert old == stored[0]
            assert new == stored[1]
            assert uow.artifacts.get_by_asset(video.video_id) == stored
            rows = uow.connection.execute(select(transcript_fts.c.artifact_id)).scalars().all()
        assert (old.schema_version, new.schema_version) == (1, 2)
        assert "words" not in old.payload
        assert new.payload["words"] == words
        assert rows == [v1.artifact_id]
        bad = make_artifact(run, payload={"text": "no words"}, schema_version=2)
        with pytest.raises(SchemaValidationError), with_plugin.unit_of_work() as uow:
            uow.artifacts.batch_create([bad])
    finally:
        with_plugin.dispose()
