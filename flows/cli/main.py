"""The ``reelflow`` command."""

from __future__ import annotations

import typer

from flows.cli import channel, db, estimate, notion, providers, review, script, setup, video

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Reelflow: narrated videos from a plan, on Prefect.",
)
app.command("run")(video.run_command)
app.command("demo")(video.demo_command)
app.command("status")(video.status_command)
app.command("estimate")(estimate.estimate_command)
app.command("submit")(review.submit_command)
app.add_typer(review.app, name="review")
app.add_typer(video.app, name="videos")
app.add_typer(script.app, name="script")
app.add_typer(channel.app, name="channel")
app.add_typer(notion.app, name="notion")
app.add_typer(providers.app, name="providers")
app.command("setup")(setup.setup_command)
app.add_typer(db.app, name="db")
