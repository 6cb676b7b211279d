"""``eioku policy``: read and write the stored selection policy of a (video, artifact type)."""

from __future__ import annotations

from typing import Annotated

import typer

from eioku.cli import app, open_store, stdout_console
from eioku.domain.selection import SelectionPolicy, make_policy

policy_app = typer.Typer(
    help="Which run's artifacts readers see by default for a video and type.",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")

DEFAULT_TEXT = "default: latest"

VideoArg = Annotated[str, typer.Argument(help="Video id.")]
TypeArg = Annotated[str, typer.Argument(help="Artifact type, e.g. transcript.segment.")]


def describe(policy: SelectionPolicy) -> str:
    """``profile (preferred_profile=fast)``: the mode and whichever settings it carries."""
    settings = {
        "preferred_profile": policy.preferred_profile,
        "pinned_run_id": policy.pinned_run_id,
        "pinned_artifact_id": policy.pinned_artifact_id,
    }
    given = [f"{name}={value}" for name, value in settings.items() if value is not None]
    return policy.mode.value + (f" ({', '.join(given)})" if given else "")


@policy_app.command("show")
def show(ctx: typer.Context, video: VideoArg, artifact_type: TypeArg) -> None:
    """Print the stored policy, or the default (latest) when none is stored."""
    store = open_store(ctx)
    with store.unit_of_work(write=False) as uow:
        uow.videos.get(video)
        policy = uow.selections.get(video, artifact_type)
    stdout_console().print(DEFAULT_TEXT if policy is None else describe(policy))


@policy_app.command("set")
def set_policy(
    ctx: typer.Context,
    video: VideoArg,
    artifact_type: TypeArg,
    mode: Annotated[str, typer.Argument(help="latest, profile, pinned or best_quality.")],
    *,
    profile: Annotated[str | None, typer.Option("--profile", help="For mode profile.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Pinned run id.")] = None,
    artifact: Annotated[
        str | None, typer.Option("--artifact", help="Pin the run that made this artifact.")
    ] = None,
) -> None:
    """Store a policy; it is checked first (the pinned run or artifact must exist)."""
    policy = make_policy(mode, profile=profile, run_id=run, artifact_id=artifact)
    store = open_store(ctx)
    with store.unit_of_work() as uow:
        stored = uow.selections.set(video, artifact_type, policy)
    stdout_console().print(f"{video} {artifact_type}: {describe(stored)}")


@policy_app.command("clear")
def clear(ctx: typer.Context, video: VideoArg, artifact_type: TypeArg) -> None:
    """Remove the stored policy, so readers get the default (latest) again."""
    store = open_store(ctx)
    with store.unit_of_work() as uow:
        uow.videos.get(video)
        removed = uow.selections.delete(video, artifact_type)
    verb = "cleared" if removed else "no stored policy"
    stdout_console().print(f"{video} {artifact_type}: {verb}; {DEFAULT_TEXT}")
