"""Property-based fuzz of the whole API from its own OpenAPI document (schemathesis).

Every operation gets generated requests, valid and invalid, against a small real library
(videos with and without a media file, two runs, artifacts) on every engine. Checked:
no 5xx ever, every status code documented, every body matching its documented schema.
Half of the generated ids are swapped for ids that exist, so success paths are reached.

``positive_data_acceptance`` is left out: some rules cannot be written in OpenAPI (cursors
made by the server, from_ms <= to_ms, selection parameter combinations, payloads checked
by the schema registry), so schema-valid requests may rightly get 400.

The document is read once at import from an app on an unused in-memory database (it does
not depend on the data); each test then calls the app built on the ``store`` fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from eioku.api.app import create_app
from eioku.config import Settings
from eioku.storage.store import Store
from tests.api.conftest import make_app, populate
from tests.media import video_for

KNOWN_IDS = {
    "video_id": ("vid-a", "vid-b", "vid-media"),
    "run_id": ("run-fast", "run-hq"),
    "artifact_id": ("tf-0", "th-500", "ocr-1000"),
    "artifact_type": ("transcript.segment", "ocr.text", "scene"),
}


def _document() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite://"))
    try:
        return app.openapi()
    finally:
        app.state.store.dispose()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def fuzz_app(store: Store, media_file: Path, tmp_path: Path) -> FastAPI:
    populate(store)
    with store.unit_of_work() as uow:
        uow.videos.add(video_for(media_file, "vid-media"))
    return make_app(store, tmp_path / "cache")


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_never_fails_and_matches_its_schema(
    case: schemathesis.Case, data: st.DataObject, fuzz_app: FastAPI
) -> None:
    for name in list(case.path_parameters or {}):
        if name in KNOWN_IDS and data.draw(st.booleans(), label=f"known {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(KNOWN_IDS[name]))
    case.call_and_validate(app=fuzz_app, excluded_checks=[positive_data_acceptance])
