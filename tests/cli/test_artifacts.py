"""``eioku artifacts``: listing under selection policies, filters, show and provenance."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.cli.conftest import Cli, Library, user_error


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    result = cli("artifacts", "list", *args, "--json")
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout_bytes.splitlines()]


def runs_and_starts(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(a["run_id"], a["span_start_ms"]) for a in found]


def test_list_shows_the_latest_run_by_default(cli: Cli, library: Library) -> None:
    found = listed(cli, "vid-a", "--type", "transcript.segment")
    assert runs_and_starts(found) == [("run-hq", 0), ("run-hq", 1500), ("run-hq", 7000)]


@pytest.mark.parametrize(
    ("options", "runs", "count"),
    [
        (["--selection", "all"], {"run-fast", "run-hq"}, 7),
        (["--profile", "fast"], {"run-fast"}, 4),
        (["--selection", "profile", "--profile", "fast"], {"run-fast"}, 4),
        (["--selection", "best_quality"], {"run-hq"}, 3),
        (["--selection", "pinned", "--run", "run-fast"], {"run-fast"}, 4),
    ],
)
def test_list_applies_the_requested_selection(
    cli: Cli, library: Library, options: list[str], runs: set[str], count: int
) -> None:
    found = listed(cli, "vid-a", "--type", "transcript.segment", *options)
    assert {a["run_id"] for a in found} == runs
    assert len(found) == count


def test_list_filters_by_overlap_with_timecodes(cli: Cli, library: Library) -> None:
    found = listed(cli, "vid-a", "--selection", "all", "--from", "00:00:01.000", "--to", "6000")
    assert sorted(a["span_start_ms"] for a in found) == [500, 1000, 1500, 5000]
    assert all(a["span_end_ms"] > 1000 and a["span_start_ms"] < 6000 for a in found)


def test_list_by_run_ignores_the_policy(cli: Cli, library: Library) -> None:
    found = listed(cli, "vid-a", "--run", "run-fast")
    assert {a["artifact_type"] for a in found} == {"transcript.segment", "object.detection"}
    assert len(found) == 5


def test_list_json_lines_are_full_envelopes(cli: Cli, library: Library) -> None:
    [scene] = listed(cli, "vid-b", "--type", "scene")
    assert scene["payload"]["method"] == "content"
    assert scene["created_at"].endswith("+00:00")
    assert scene["model_profile"] == "balanced"


def test_list_table_shows_times_types_profiles_runs_and_a_summary(
    cli: Cli, library: Library
) -> None:
    result = cli("artifacts", "list", "vid-a", "--type", "transcript.segment")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "00:00:01.500" in line)
    for cell in ("00:00:02.500", "transcript.segment", "high_quality", "run-hq"):
        assert cell in row
    assert "text=hello world number 1500" in row


def test_list_limit_says_when_it_cut(cli: Cli, library: Library) -> None:
    result = cli("artifacts", "list", "vid-a", "--selection", "all", "--limit", "2")
    assert result.stdout.strip().endswith("first 2 shown; --limit 0 lists them all")
    assert len(listed(cli, "vid-a", "--selection", "all", "--limit", "2")) == 2
    assert len(listed(cli, "vid-a", "--selection", "all", "--limit", "0")) == 8


def test_list_of_an_empty_selection_says_so(cli: Cli, library: Library) -> None:
    result = cli("artifacts", "list", "vid-b", "--profile", "fast")
    assert result.stdout.strip() == "no artifacts"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope"], "error: video nope not found"),
        (["vid-a", "--from", "-5"], "error: invalid time '-5': must not be negative"),
        (["vid-a", "--to", "1:2:3:4"], "error: invalid time '1:2:3:4': use milliseconds"),
        (["vid-a", "--from", "10", "--to", "5"], "error: from_ms must not be after to_ms"),
        (["vid-a", "--selection", "newest"], "error: invalid selection policy: 'newest'"),
        (["vid-a", "--selection", "profile"], "error: invalid selection policy: selection mode"),
    ],
)
def test_list_user_errors_are_one_line(
    cli: Cli, library: Library, args: list[str], expected: str
) -> None:
    assert user_error(cli("artifacts", "list", *args)).startswith(expected)


def test_show_prints_the_envelope_as_json(cli: Cli, library: Library) -> None:
    result = cli("artifacts", "show", "obj-1")
    assert result.exit_code == 0, result.output
    shown = orjson.loads(result.stdout_bytes)
    assert shown["artifact_id"] == "obj-1"
    assert shown["payload"]["label"] == "dog"
    assert shown["run_id"] == "run-fast"


def test_show_of_an_unknown_artifact_is_a_user_error(cli: Cli, library: Library) -> None:
    assert user_error(cli("artifacts", "show", "nope")) == "error: artifact nope not found"


def test_provenance_finds_artifacts_by_producer_and_config(cli: Cli, library: Library) -> None:
    result = cli("artifacts", "provenance", "--producer", "test-producer", "--json")
    assert len(result.stdout_bytes.splitlines()) == 15
    table = cli("artifacts", "provenance", "--config-hash", "cfg-1", "--producer-version", "1.0")
    assert "vid-b" in table.stdout
    missing = cli("artifacts", "provenance", "--config-hash", "other")
    assert missing.stdout.strip() == "no artifacts"


def test_provenance_needs_a_criterion(cli: Cli, library: Library) -> None:
    message = user_error(cli("artifacts", "provenance"))
    assert message == "error: give at least one of producer, producer_version, config_hash"
