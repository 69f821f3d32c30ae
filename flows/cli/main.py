"""The ``reelflow`` command."""

from __future__ import annotations

import os

import typer

from flows.cli import (
    channel,
    db,
    estimate,
    notion,
    providers,
    prune,
    recover,
    review,
    script,
    setup,
    video,
)

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Reelflow: narrated videos from a plan, on Prefect.",
)


@app.callback()
def main() -> None:
    """Reelflow: narrated videos from a plan, on Prefect."""
    _quiet_temporary_server()


def _quiet_temporary_server() -> None:
    """Without PREFECT_API_URL, Prefect starts a temporary server on SQLite for the command,
    whose own log would print tracebacks of "database is locked" answers the client retries
    anyway, and of its telemetry heartbeat. Keep it to critical errors (set the variables
    yourself to see more; a server of your own is never touched)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


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
app.command("setup")(setup.setup_command)
app.command("recover")(recover.recover_command)
app.add_typer(db.app, name="db")
