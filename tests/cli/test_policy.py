"""``eioku policy``: show, set and clear stored selection policies; invalid ones are refused."""

from __future__ import annotations

import orjson
import pytest

from tests.cli.conftest import Cli, Library, user_error

TYPE = "transcript.segment"


def listed_runs(cli: Cli) -> set[str]:
    result = cli("artifacts", "list", "vid-a", "--type", TYPE, "--json")
    return {orjson.loads(line)["run_id"] for line in result.stdout_bytes.splitlines()}


def test_show_without_a_stored_policy_is_the_default(cli: Cli, library: Library) -> None:
    result = cli("policy", "show", "vid-a", TYPE)
    assert result.stdout.strip() == "default: latest"


def test_show_a_stored_pin(cli: Cli, library: Library) -> None:
    result = cli("policy", "show", "vid-a", "object.detection")
    assert result.stdout.strip() == "pinned (pinned_artifact_id=obj-1)"


def test_set_profile_then_readers_see_that_profile(cli: Cli, library: Library) -> None:
    result = cli("policy", "set", "vid-a", TYPE, "profile", "--profile", "fast")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"vid-a {TYPE}: profile (preferred_profile=fast)"
    assert cli("policy", "show", "vid-a", TYPE).stdout.strip() == (
        "profile (preferred_profile=fast)"
    )
    assert listed_runs(cli) == {"run-fast"}


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        (["pinned", "--run", "run-fast"], "pinned (pinned_run_id=run-fast)"),
        (["pinned", "--artifact", "tie-a"], "pinned (pinned_artifact_id=tie-a)"),
        (["best_quality"], "best_quality"),
        (["latest"], "latest"),
    ],
)
def test_set_every_storable_mode(
    cli: Cli, library: Library, options: list[str], shown: str
) -> None:
    assert cli("policy", "set", "vid-a", TYPE, *options).exit_code == 0
    assert cli("policy", "show", "vid-a", TYPE).stdout.strip() == shown


def test_clear_returns_to_the_default(cli: Cli, library: Library) -> None:
    cli("policy", "set", "vid-a", TYPE, "pinned", "--run", "run-fast")
    assert listed_runs(cli) == {"run-fast"}
    cleared = cli("policy", "clear", "vid-a", TYPE)
    assert cleared.stdout.strip() == f"vid-a {TYPE}: cleared; default: latest"
    assert cli("policy", "show", "vid-a", TYPE).stdout.strip() == "default: latest"
    assert listed_runs(cli) == {"run-hq"}
    again = cli("policy", "clear", "vid-a", TYPE)
    assert again.stdout.strip() == f"vid-a {TYPE}: no stored policy; default: latest"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["pinned", "--run", "ghost"], "error: pinned run ghost is not a run of video vid-a"),
        (["pinned", "--run", "run-b"], "error: pinned run run-b is not a run of video vid-a"),
        (["pinned", "--artifact", "obj-1"], "error: pinned artifact obj-1 is not a "),
        (["pinned"], "error: invalid selection policy: selection mode 'pinned' needs a run"),
        (["profile"], "error: invalid selection policy: selection mode 'profile' needs a profile"),
        (["profile", "--profile", "ultra"], "error: invalid selection policy: 'ultra'"),
        (["newest"], "error: invalid selection policy: 'newest' is not a valid SelectionMode"),
        (["all"], "error: selection mode 'all' cannot be stored"),
        (["default"], "error: selection mode 'default' cannot be stored"),
    ],
)
def test_invalid_policies_are_one_line_errors_and_change_nothing(
    cli: Cli, library: Library, options: list[str], expected: str
) -> None:
    message = user_error(cli("policy", "set", "vid-a", TYPE, *options))
    assert message.startswith(expected), message
    assert cli("policy", "show", "vid-a", TYPE).stdout.strip() == "default: latest"


@pytest.mark.parametrize("command", ["show", "clear"])
def test_policy_of_an_unknown_video_is_a_user_error(
    cli: Cli, library: Library, command: str
) -> None:
    assert user_error(cli("policy", command, "nope", TYPE)) == "error: video nope not found"


def test_set_on_an_unknown_video_is_a_user_error(cli: Cli, library: Library) -> None:
    assert user_error(cli("policy", "set", "nope", TYPE, "latest")) == (
        "error: video nope not found"
    )
