"""The ``reelflow`` command."""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from flows.cli import (
    channel,
    db,
    estimate,
    media,
    notion,
    plan,
    providers,
    prune,
    publish,
    recover,
    review,
    script,
    setup,
    video,
    youtube,
)
from flows.cli.common import fail
from flows.cli.server_watchdog import guard_temporary_server
from flows.core.errors import ReelflowError
from flows.core.settings import get_settings


class _Group(TyperGroup):
    """The top command: notes whether ``--help`` was asked for anywhere on the line (help
    needs no settings), before its callback runs."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["reelflow.help"] = "--help" in args
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Reelflow: narrated videos from a plan, on Prefect.",
)


@app.callback()
def main(ctx: typer.Context) -> None:
    """Reelflow: narrated videos from a plan, on Prefect."""
    if not ctx.meta.get("reelflow.help"):
        _check_settings()
    _quiet_temporary_server()


def _check_settings() -> None:
    """Read the settings once, before any command: a bad REELFLOW_* value is one line."""
    try:
        get_settings()
    except ReelflowError as exc:
        fail(str(exc))


def _quiet_temporary_server() -> None:
    """Without PREFECT_API_URL, Prefect starts a temporary server on SQLite for the command,
    whose own log would print tracebacks of "database is locked" answers the client retries
    anyway, and of its telemetry heartbeat. Keep it to critical errors (set the variables
    yourself to see more; a server of your own is never touched), and have a watchdog stop
    it if the command is killed (flows/cli/server_watchdog.py)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    guard_temporary_server()  # a killed command does not leave its server running


app.command("run")(video.run_command)
app.command("demo")(video.demo_command)
app.command("status")(video.status_command)
app.command("estimate")(estimate.estimate_command)
app.command("prune")(prune.prune_command)
app.command("submit")(review.submit_command)
app.add_typer(review.app, name="review")
app.add_typer(video.app, name="videos")
app.add_typer(script.app, name="script")
app.add_typer(channel.app, name="channel")
app.add_typer(notion.app, name="notion")
app.add_typer(providers.app, name="providers")
app.add_typer(media.app, name="media")
app.command("setup")(setup.setup_command)
app.command("recover")(recover.recover_command)
app.command("plan")(plan.plan_command)
app.command("publish")(publish.publish_command)
app.add_typer(youtube.app, name="youtube")
app.add_typer(db.app, name="db")
