"""Every user error, from every command, is one ``error:`` line on stderr and exit 1.

Bugs are different: an unexpected exception is not dressed up as a user error.
"""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli, Library, user_error

USER_ERRORS: dict[str, tuple[list[str], bytes | None]] = {
    "import_bad_json": (["import", "-"], b"{not json\n"),
    "import_bad_payload": (
        ["import", "-"],
        b'{"record": "artifact", "asset_id": "vid-a", "payload": {}}\n',
    ),
    "import_missing_file": (["import", "/nonexistent/eioku.jsonl"], None),
    "export_unknown_video": (["export", "--video", "nope"], None),
    "export_bad_selection": (["export", "--selection", "pinned"], None),
    "export_unwritable": (["export", "--output", "/nonexistent/dir/out.jsonl"], None),
    "list_unknown_video": (["artifacts", "list", "nope"], None),
    "list_bad_time": (["artifacts", "list", "vid-a", "--from", "soon"], None),
    "show_unknown": (["artifacts", "show", "nope"], None),
    "provenance_nothing": (["artifacts", "provenance"], None),
    "policy_pinned_ghost": (["policy", "set", "vid-a", "scene", "pinned", "--run", "ghost"], None),
    "policy_profile_missing": (["policy", "set", "vid-a", "scene", "profile"], None),
    "policy_unknown_mode": (["policy", "set", "vid-a", "scene", "sometimes"], None),
    "policy_show_unknown_video": (["policy", "show", "nope", "scene"], None),
    "projections_unknown": (["projections", "rebuild", "nope"], None),
}


@pytest.mark.parametrize("case", sorted(USER_ERRORS))
def test_user_errors_never_print_a_traceback(case: str, cli: Cli, library: Library) -> None:
    args, stdin = USER_ERRORS[case]
    user_error(cli(*args, input=stdin))


def test_an_unexpected_exception_is_not_turned_into_a_user_error(
    cli: Cli, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("eioku.cli.policy.describe", broken)
    result = cli("policy", "show", "vid-a", "object.detection")
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)
    assert "error: " not in result.stderr
