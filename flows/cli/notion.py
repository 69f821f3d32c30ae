"""``reelflow notion``: make a board, check (and fix) one, push what the boards missed, and
start the videos queued on them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli.common import fail, run
from flows.core.errors import ConfigError

if TYPE_CHECKING:
    from flows.notion.client import NotionCaller
    from flows.notion.schema import BoardConfig

app = typer.Typer(no_args_is_help=True, help="Notion boards: make, check, fix, reconcile.")

DEFAULT_TITLE = "Reelflow videos"


@app.command()
def init(
    parent: Annotated[
        str, typer.Option(help="The Notion page (shared with the integration) to hold it.")
    ],
    channel: Annotated[
        str | None, typer.Option(help="Store the board on this channel (made if new).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="The board's title.")] = None,
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding the integration token.")
    ] = "NOTION_TOKEN",
    base_url: Annotated[
        str, typer.Option(help="Notion's API (proxies, tests).")
    ] = "https://api.notion.com",
) -> None:
    """Make a board under a page: a database with every property Reelflow writes (run twice,
    one board). With --channel, the channel's board block points at it."""
    token = os.environ.get(token_env, "").strip()
    if not token:
        fail(f"set {token_env} to the Notion integration token (--token-env)")
    if channel is not None:
        from flows.core.names import check_channel_name

        try:
            check_channel_name(channel)
        except ConfigError as exc:
            fail(str(exc))
    name = title or (f"{DEFAULT_TITLE}: {channel}" if channel else DEFAULT_TITLE)
    for line in run(_init(parent, channel, name, token, base_url.rstrip("/"))):
        typer.echo(line)


async def _init(
    parent: str, channel: str | None, title: str, token: str, base_url: str
) -> list[str]:
    from blocks import Channel, NotionBoard
    from flows.bootstrap import ensure_block_types
    from flows.channels import forget_blocks, load_channel_block
    from flows.notion.boards import board_caller, forget_boards
    from flows.notion.provision import create_board
    from flows.notion.schema import BoardConfig

    board = BoardConfig.model_validate(
        {"token": token, "database_id": "-", "base_url": base_url, "status_property_type": "select"}
    )
    call = board_caller(board)
    try:
        database, source, made = await create_board(call, board, parent=parent, title=title)
        board = board.model_copy(update={"database_id": database, "data_source_id": source})
        fixed = [] if made else await _complete(call, board)
    finally:
        await call.aclose()
    lines = [
        f"{'made' if made else 'found'} board {title!r}: database {database} "
        f"(data source {source})",
        *fixed,
    ]
    if channel is None:
        lines.append(f"use it: reelflow channel create NAME --notion-database {database}")
        return lines
    await ensure_block_types(Channel, NotionBoard)
    block = NotionBoard(**board.model_dump(include=set(NotionBoard.model_fields)))
    await block.asave(channel, overwrite=True)
    existing = await load_channel_block(channel)
    target = existing or Channel()
    target.notion_board = channel
    await target.asave(channel, overwrite=True)
    forget_blocks()
    forget_boards()
    lines.append(f"channel {channel!r} {'now uses' if existing else 'made with'} board {channel!r}")
    return lines


async def _complete(call: NotionCaller, board: BoardConfig) -> list[str]:
    """Add to a board found again what it lacks (a second ``init`` after a Reelflow upgrade)."""
    from flows.notion.provision import check_board, fix_board

    report = await check_board(call, board)
    if report.source is None:
        raise ConfigError("; ".join(report.problems))
    return await fix_board(call, board, report) if report.fixable else []


@app.command()
def check(
    channel: Annotated[str | None, typer.Option(help="The channel whose board to check.")] = None,
    board: Annotated[str | None, typer.Option(help="A NotionBoard block to check.")] = None,
    fix: Annotated[
        bool, typer.Option(help="Add the missing properties and select options.")
    ] = False,
) -> None:
    """Validate a board: the token, the database and its data source, every property's name
    and type, and how each status is shown. Says exactly what is missing; --fix adds it."""
    if (channel is None) == (board is None):
        fail("give --channel NAME or --board BLOCK")
    name, fixed, problems, notes = run(_check(channel, board, fix))
    for line in fixed:
        typer.echo(line)
    for note in notes:
        typer.echo(f"  · {note}")
    if problems:
        typer.echo(f"board {name!r} is not ready:", err=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"board {name!r} is ready: token, database, properties and status options")


async def _check(
    channel: str | None, board: str | None, fix: bool
) -> tuple[str, list[str], list[str], list[str]]:
    from flows.notion.boards import board_caller, channel_boards, forget_boards, load_board
    from flows.notion.provision import check_board, fix_board

    if board is None:
        assert channel is not None
        board = (await channel_boards(channel)).get(channel)
        if board is None:
            raise ConfigError(f"channel {channel!r} has no board (or no such channel)")
    config = await load_board(board)
    call = board_caller(config)
    try:
        report = await check_board(call, config)
        fixed: list[str] = []
        if fix and report.fixable:
            fixed = [f"board {board!r}: {line}" for line in await fix_board(call, config, report)]
            report = await check_board(call, config)
            forget_boards()
        return board, fixed, report.problems, report.notes
    finally:
        await call.aclose()


@app.command()
def reconcile(
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many videos.")] = 1000,
) -> None:
    """Push the current state of every video whose card is behind (a flow run)."""
    from flows.notion.reconcile import notion_reconcile

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

    from flows.notion.intake import notion_intake

    if not here and not PREFECT_API_URL.value():
        fail("--deployed needs PREFECT_API_URL (the server with the produce-video deployment)")
    result = run(notion_intake(channel=channel, start="here" if here else "deployment"))
    if not result["started"]:
        typer.echo("no queued card to start")
    for video_id in result["started"]:
        typer.echo(f"video {video_id}: {result['runs'].get(video_id, '')}")
