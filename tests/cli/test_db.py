"""``eioku db``: creating and inspecting the schema; other commands need it current."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from eioku.cli import app
from tests.cli.conftest import Cli, user_error
from tests.conftest import ENGINES, EmptyDatabase


@pytest.mark.parametrize("engine", ENGINES)
def test_upgrade_creates_the_schema_and_prints_the_revision(
    engine: str, empty_database: EmptyDatabase
) -> None:
    cli = Cli(empty_database.url(engine))
    assert cli("db", "current").stdout.startswith("none (head is 0004")
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.strip() == f"database ({engine}) at revision 0004"
    assert cli("db", "current").stdout.strip() == "0004 (head)"
    assert cli("db", "upgrade").exit_code == 0  # idempotent


@pytest.mark.parametrize("engine", ENGINES)
def test_data_commands_refuse_an_unmigrated_database(
    engine: str, empty_database: EmptyDatabase
) -> None:
    message = user_error(Cli(empty_database.url(engine))("export"))
    assert "run 'eioku db upgrade'" in message


def test_an_unsupported_database_url_is_a_user_error() -> None:
    message = user_error(Cli("mysql://somewhere/db")("db", "current"))
    assert message == "error: unsupported database 'mysql': use sqlite or postgresql"


def test_the_database_url_comes_from_the_environment(empty_database: EmptyDatabase) -> None:
    url = empty_database.url("sqlite")
    invoked = CliRunner(env={"EIOKU_DATABASE_URL": url}).invoke(app, ["db", "upgrade"])
    assert invoked.exit_code == 0, invoked.output
    assert "at revision 0004" in invoked.stdout
