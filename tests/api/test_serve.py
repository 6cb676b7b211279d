"""``eioku serve``: refuses an unmigrated database in one line, else prints URLs and serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from eioku.cli import app
from eioku.cli.serve import base_url
from eioku.storage.store import Store
from tests.api.conftest import url_of


def _serve(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--database-url", url, "serve", *args])


def test_serve_refuses_an_unmigrated_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not serve"))
    result = _serve(f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "eioku db upgrade" in lines[0]


def test_serve_prints_the_urls_and_runs_uvicorn(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[FastAPI, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda served, **options: calls.append((served, options)))
    result = _serve(url_of(store), "--host", "0.0.0.0", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/v1" in result.stdout
    assert "http://127.0.0.1:8123/docs" in result.stdout
    [(served, options)] = calls
    assert options == {"host": "0.0.0.0", "port": 8123}
    assert served.openapi_url == "/openapi.json"


def test_serve_rejects_a_bad_port(store: Store) -> None:
    assert _serve(url_of(store), "--port", "70000").exit_code == 2


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),
        ("::", "http://[::1]:8000"),
        ("::1", "http://[::1]:8000"),
        ("media.local", "http://media.local:8000"),
    ],
)
def test_base_url_is_what_a_local_browser_opens(host: str, url: str) -> None:
    assert base_url(host, 8000) == url
