"""``eioku import`` / ``eioku export``: deterministic round trips, all-or-nothing imports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from eioku.domain.envelope import ArtifactEnvelope
from eioku.storage.exchange import dumps_line, envelope_record
from eioku.storage.store import Store
from tests.cli.conftest import Cli, Library, populate, row_counts, url_of, user_error
from tests.conftest import EmptyDatabase, clean
from tests.factories import make_artifact, make_run, make_video


def fresh_cli(empty_database: EmptyDatabase, engine: str) -> Cli:
    """The CLI on a new database of ``engine``, migrated by ``eioku db upgrade``."""
    cli = Cli(empty_database.url(engine))
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    return cli


def export_bytes(cli: Cli, *args: str) -> bytes:
    result = cli("export", *args)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def records(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines()]


def kinds(data: bytes) -> list[str]:
    return [record["record"] for record in records(data)]


# -- round trips ---------------------------------------------------------------------------


def test_export_import_export_is_byte_identical(
    store: Store, library: Library, empty_database: EmptyDatabase, tmp_path: Path
) -> None:
    first = export_bytes(Cli(url_of(store)))
    path = tmp_path / "library.jsonl"
    path.write_bytes(first)
    target = fresh_cli(empty_database, store.dialect)
    result = target("import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "imported 2 videos, 3 runs, 15 artifacts, 2 selections"
    assert export_bytes(target) == first


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_round_trip_across_engines_is_byte_identical(
    source: str, target: str, stores: dict[str, Store], empty_database: EmptyDatabase
) -> None:
    clean(stores[source])
    populate(stores[source])
    first = export_bytes(Cli(url_of(stores[source])))
    other = fresh_cli(empty_database, target)
    assert other("import", "-", input=first).exit_code == 0
    assert export_bytes(other) == first


def test_export_order_keys_and_times_are_fixed(cli: Cli, library: Library) -> None:
    data = export_bytes(cli)
    found = records(data)
    assert kinds(data) == ["video"] * 2 + ["run"] * 3 + ["artifact"] * 15 + ["selection"] * 2
    assert [r["video_id"] for r in found[:2]] == ["vid-a", "vid-b"]
    assert [r["run_id"] for r in found[2:5]] == ["run-fast", "run-hq", "run-b"]
    artifact = found[5]
    assert list(artifact) == ["record", *ArtifactEnvelope.model_fields]
    assert artifact["created_at"].endswith("+00:00")
    transcripts = [
        r
        for r in found
        if r.get("artifact_type") == "transcript.segment" and r["asset_id"] == "vid-a"
    ]
    at_zero = [r["artifact_id"] for r in transcripts if r["span_start_ms"] == 0]
    assert len(at_zero) == 3
    assert at_zero == sorted(at_zero)
    starts = [r["span_start_ms"] for r in transcripts]
    assert starts == sorted(starts)
    assert found[2]["stages"][0]["status"] == "completed"
    selections = [(r["asset_id"], r["artifact_type"]) for r in found[-2:]]
    assert selections == [("vid-a", "object.detection"), ("vid-b", "scene")]


def test_import_reads_stdin(cli: Cli, store: Store) -> None:
    result = cli("import", "-", input=b"".join(valid_lines()))
    assert result.exit_code == 0, result.output
    assert "imported 1 video, 1 run, 3 artifacts, 0 selections" in result.stdout
    assert row_counts(store)["artifacts"] == 3


def test_import_applies_records_in_dependency_order_whatever_the_line_order(
    cli: Cli, store: Store
) -> None:
    result = cli("import", "-", input=b"".join(reversed(valid_lines())))
    assert result.exit_code == 0, result.output
    assert row_counts(store)["artifacts"] == 3


# -- export filters ------------------------------------------------------------------------


def test_export_one_video(cli: Cli, library: Library) -> None:
    data = export_bytes(cli, "--video", "vid-b")
    assert kinds(data) == ["video", "run"] + ["artifact"] * 7 + ["selection"]


def test_export_one_type_keeps_every_video_and_run(cli: Cli, library: Library) -> None:
    found = records(export_bytes(cli, "--type", "transcript.segment"))
    assert [r["record"] for r in found].count("run") == 3
    assert {r["artifact_type"] for r in found if r["record"] == "artifact"} == {
        "transcript.segment"
    }
    assert [r["record"] for r in found].count("artifact") == 8  # 4 fast, 3 hq, 1 on B


def test_export_applies_the_selection_policy(cli: Cli, library: Library) -> None:
    latest = records(export_bytes(cli, "--selection", "latest"))
    runs = {
        (r["asset_id"], r["artifact_type"], r["run_id"]) for r in latest if "span_start_ms" in r
    }
    assert ("vid-a", "transcript.segment", "run-hq") in runs
    assert ("vid-a", "transcript.segment", "run-fast") not in runs
    fast = records(export_bytes(cli, "--selection", "profile", "--profile", "fast"))
    assert {r["run_id"] for r in fast if r["record"] == "artifact"} == {"run-fast"}


def test_a_filtered_export_still_imports(
    cli: Cli, library: Library, empty_database: EmptyDatabase, store: Store
) -> None:
    data = export_bytes(cli, "--profile", "high_quality")
    selections = [r["artifact_type"] for r in records(data) if r["record"] == "selection"]
    assert selections == ["scene"]  # the policy pinning a fast-run artifact is left out
    target = fresh_cli(empty_database, store.dialect)
    assert target("import", "-", input=data).exit_code == 0
    assert export_bytes(target, "--profile", "high_quality") == data


def test_export_to_a_file_matches_stdout(cli: Cli, library: Library, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    result = cli("export", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert "exported 2 videos, 3 runs, 15 artifacts, 2 selections" in result.stderr
    assert path.read_bytes() == export_bytes(cli)


def test_export_of_an_unknown_video_is_a_user_error(cli: Cli, library: Library) -> None:
    assert user_error(cli("export", "--video", "nope")) == "error: video nope not found"


# -- all or nothing ------------------------------------------------------------------------


def valid_lines() -> list[bytes]:
    """Line 1 a video, 2 its run, 3-5 artifacts a0..a2."""
    video = make_video("v1")
    run = make_run("v1", run_id="r1")
    arts = [make_artifact(run, start=i * 1000, artifact_id=f"a{i}") for i in range(3)]
    return [
        dumps_line("video", video.model_dump()),
        dumps_line("run", run.model_dump()),
        *(dumps_line("artifact", envelope_record(a)) for a in arts),
    ]


def patched(number: int, **changes: Any) -> Callable[[list[bytes]], None]:
    def change(lines: list[bytes]) -> None:
        record = orjson.loads(lines[number - 1])
        record.update(changes)
        for name in [name for name, value in changes.items() if value is ...]:
            del record[name]
        lines[number - 1] = orjson.dumps(record) + b"\n"

    return change


def replaced(number: int, raw: bytes) -> Callable[[list[bytes]], None]:
    def change(lines: list[bytes]) -> None:
        lines[number - 1] = raw

    return change


def appended(raw: bytes) -> Callable[[list[bytes]], None]:
    return lambda lines: lines.append(raw)


def selection_line(**fields: Any) -> bytes:
    base = {"asset_id": "v1", "artifact_type": "transcript.segment", "selection_mode": "latest"}
    return dumps_line("selection", {**base, **fields})


BAD_FILES = {
    "malformed_json": (
        replaced(4, b'{"record": "artifact", "asset_id": \n'),
        "line 4: invalid JSON",
    ),
    "not_an_object": (replaced(3, b"[1, 2]\n"), "line 3: expected a JSON object"),
    "unknown_record": (patched(2, record="clip"), "line 2: record: expected one of"),
    "invalid_payload": (patched(4, payload={"text": ""}), "line 4: payload.text: "),
    "unknown_schema": (patched(4, schema_version=9), "line 4: no schema registered"),
    "unknown_run": (patched(5, run_id="ghost"), "line 5: run_id: run ghost does not exist"),
    "duplicate_artifact_id": (lambda lines: lines.append(lines[2]), "line 6: artifact_id: "),
    "span_end_before_start": (
        patched(4, span_start_ms=5000, span_end_ms=4000),
        "line 4: span_end_ms must be >= span_start_ms",
    ),
    "missing_field": (patched(3, producer=...), "line 3: producer: Field required"),
    "naive_time": (patched(1, file_mtime="2026-01-01T00:00:00"), "line 1: file_mtime: "),
    "run_of_unknown_video": (patched(2, asset_id="v9"), "line 2: asset_id: video v9 not found"),
    "duplicate_video": (lambda lines: lines.append(lines[0]), "line 6: video_id: v1 appears"),
    "selection_unknown_mode": (
        appended(selection_line(selection_mode="newest")),
        "line 6: selection_mode: ",
    ),
    "selection_profile_missing": (
        appended(selection_line(selection_mode="profile")),
        "line 6: preferred_profile: invalid selection policy: selection mode 'profile' needs",
    ),
    "selection_pinned_to_missing_run": (
        appended(selection_line(selection_mode="pinned", pinned_run_id="ghost")),
        "line 6: pinned_run_id: pinned run ghost is not a run of video v1",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_line_fails_the_whole_import(case: str, cli: Cli, store: Store) -> None:
    lines = valid_lines()
    change, expected = BAD_FILES[case]
    change(lines)
    message = user_error(cli("import", "-", input=b"".join(lines)))
    assert message.startswith(f"error: {expected}"), message
    assert set(row_counts(store).values()) == {0}


def test_a_duplicate_in_an_earlier_batch_is_found_with_its_line(
    cli: Cli, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eioku.storage.exchange.importing.BATCH", 2)
    lines = valid_lines()
    lines.append(lines[2])
    message = user_error(cli("import", "-", input=b"".join(lines)))
    assert message == "error: line 6: artifact_id: artifact a0 already exists"
    assert set(row_counts(store).values()) == {0}


def test_a_failed_import_leaves_existing_data_untouched(
    cli: Cli, store: Store, library: Library
) -> None:
    before = row_counts(store)
    lines = valid_lines()
    patched(5, payload={"text": ""})(lines)
    user_error(cli("import", "-", input=b"".join(lines)))
    assert row_counts(store) == before


def test_importing_a_missing_file_is_a_user_error(cli: Cli, tmp_path: Path) -> None:
    message = user_error(cli("import", str(tmp_path / "nope.jsonl")))
    assert message.startswith("error: cannot open ")
