"""``eioku projections rebuild``: re-derive tables, and --check that they match without writing."""

from __future__ import annotations

from sqlalchemy import Table, delete, func, select

from eioku.storage.store import Store
from eioku.storage.tables import object_labels, transcript_fts
from tests.cli.conftest import Cli, Library, user_error


def count(store: Store, table: Table) -> int:
    with store.unit_of_work(write=False) as uow:
        query = select(func.count()).select_from(table)
        return int(uow.connection.execute(query).scalar_one())


def test_rebuild_all_prints_rows_per_table(cli: Cli, store: Store, library: Library) -> None:
    result = cli("projections", "rebuild")
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line.split()[3] for line in result.stdout.splitlines() if "│" in line}
    assert lines["transcript_fts"] == "8"
    assert lines["object_labels"] == "2"
    assert lines["run_outputs"] == "10"  # (run, type) pairs: 2 + 1 + 7
    assert count(store, transcript_fts) == 8


def test_rebuild_named_tables_only(cli: Cli, library: Library) -> None:
    result = cli("projections", "rebuild", "scene_ranges", "ocr_fts")
    assert result.exit_code == 0, result.output
    assert "scene_ranges" in result.stdout
    assert "transcript_fts" not in result.stdout


def test_check_on_a_consistent_database_is_identical(cli: Cli, library: Library) -> None:
    result = cli("projections", "rebuild", "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "identical (7 tables checked)"


def test_check_lists_tables_that_differ_and_commits_nothing(
    cli: Cli, store: Store, library: Library
) -> None:
    with store.unit_of_work() as uow:
        uow.connection.execute(delete(object_labels))
    result = cli("projections", "rebuild", "--check")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "object_labels: differs from a rebuild"
    assert "transcript_fts" not in result.stdout
    assert count(store, object_labels) == 0  # rolled back: still the tampered state
    assert cli("projections", "rebuild", "object_labels").exit_code == 0
    assert count(store, object_labels) == 2
    assert cli("projections", "rebuild", "--check").exit_code == 0


def test_rebuild_of_an_unknown_projection_is_a_user_error(cli: Cli, library: Library) -> None:
    assert user_error(cli("projections", "rebuild", "nope")) == (
        "error: unknown projection(s): nope"
    )
    message = user_error(cli("projections", "rebuild", "nope", "--check"))
    assert message == "error: unknown projection nope"
