"""``reelflow notion``: check a board, and push what the boards missed."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli.common import fail, run
from flows.core.errors import ConfigError
from flows.core.notion_client import board_problems
from flows.notion_boards import board_caller, channel_boards, load_board

app = typer.Typer(no_args_is_help=True, help="Notion boards: check them, reconcile them.")


@app.command()
def check(
    channel: Annotated[str | None, typer.Option(help="The channel whose board to check.")] = None,
    board: Annotated[str | None, typer.Option(help="A NotionBoard block to check.")] = None,
) -> None:
    """Validate a board: the token, the database and its data source, every property's name
    and type, and the status options. Says exactly what is missing."""
    if (channel is None) == (board is None):
        fail("give --channel NAME or --board BLOCK")
    name, problems = run(_check(channel, board))
    if problems:
        typer.echo(f"board {name!r} is not ready:", err=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"board {name!r} is ready: token, database, properties and status options")


async def _check(channel: str | None, board: str | None) -> tuple[str, list[str]]:
    if board is None:
        assert channel is not None
        board = (await channel_boards(channel)).get(channel)
        if board is None:
            raise ConfigError(f"channel {channel!r} has no board (or no such channel)")
    config = await load_board(board)
    call = board_caller(config, strict=False)  # works before `reelflow setup` too
    try:
        return board, await board_problems(call, config)
    finally:
        await call.aclose()


@app.command()
def reconcile(
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many videos.")] = 1000,
) -> None:
    """Push the current state of every video whose card is behind (a flow run)."""
    from flows.notion_sync import notion_reconcile

    outcomes = run(notion_reconcile(channel=channel, limit=limit))
    if not outcomes:
        typer.echo("every card is up to date")
        return
    typer.echo(", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())))
    if outcomes.get("blocked") or outcomes.get("behind") or outcomes.get("failed"):
        typer.echo("some cards are still behind: see the run's log, then run this again")


@app.command()
def intake(
    channel: Annotated[str | None, typer.Option(help="Only this channel's board.")] = None,
    here: Annotated[
        bool,
        typer.Option(
            "--here/--deployed",
            help="Produce the videos in this process (answer their reviews with `reelflow "
            "review`), or start them through the produce-video deployment.",
        ),
    ] = False,
) -> None:
    """Start a video for every card marked "Queued" (what the notion-intake deployment does
    every 5 minutes)."""
    from prefect.settings import PREFECT_API_URL

    from flows.intake import notion_intake

    if not here and not PREFECT_API_URL.value():
        fail("--deployed needs PREFECT_API_URL (the server with the produce-video deployment)")
    result = run(notion_intake(channel=channel, start="here" if here else "deployment"))
    if not result["started"]:
        typer.echo("no queued card to start")
    for video_id in result["started"]:
        typer.echo(f"video {video_id}: {result['runs'].get(video_id, '')}")
