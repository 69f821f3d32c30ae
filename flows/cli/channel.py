"""``reelflow channel``: create, list and show channels (Channel and NotionBoard blocks).

A channel's board token is read from an environment variable (``--notion-token-env``), never
from the command line, and is never printed. Two channels share nothing: creating one that
would use another's board, database or credential blocks is refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from blocks import Channel, ElevenLabsCredentials, GeminiCredentials, KlingCredentials, NotionBoard
from blocks.youtube import YouTubeCredentials
from flows.channels import PROVIDER_ENV, forget_blocks, load_channel_block
from flows.cli.common import fail, print_json, run
from flows.core.errors import ConfigError
from flows.core.names import check_channel_name
from flows.core.steps import STEPS
from flows.notion.boards import channel_documents, forget_boards

app = typer.Typer(
    no_args_is_help=True,
    help="Channels: outputs, providers, credentials, Notion board and budget (Prefect blocks).",
)

PROVIDERS = ("local", *PROVIDER_ENV)
# provider → (the Channel field naming its credentials block, that block's type)
_CREDENTIALS: dict[str, tuple[str, Any]] = {
    "gemini": ("gemini_credentials", GeminiCredentials),
    "kling": ("kling_credentials", KlingCredentials),
    "elevenlabs": ("elevenlabs_credentials", ElevenLabsCredentials),
    "youtube": ("youtube_credentials", YouTubeCredentials),  # the publisher (flows/publish)
}
BASE_URLS = (*PROVIDER_ENV, "youtube")  # youtube=ROOT stands for https://www.googleapis.com
Pairs = Annotated[list[str] | None, typer.Option(show_default=False)]


def _pairs(values: list[str] | None, option: str, keys: tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict; a bad one is named with what it may be."""
    found = {}
    for value in values or []:
        key, sep, item = value.partition("=")
        if not sep or key not in keys or not item:
            fail(f"{option} {value!r}: write KEY=VALUE with KEY one of {', '.join(keys)}")
        found[key] = item
    return found


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits and dashes.")],
    output_root: Annotated[
        Path | None, typer.Option(help="Videos go to ROOT/<channel>/<project>/.")
    ] = None,
    provider: Annotated[
        list[str] | None, typer.Option(metavar="STEP=NAME", help="Provider per step.")
    ] = None,
    model: Annotated[list[str] | None, typer.Option(metavar="STEP=MODEL")] = None,
    base_url: Annotated[list[str] | None, typer.Option(metavar="PROVIDER=URL")] = None,
    credentials: Annotated[
        list[str] | None,
        typer.Option(metavar="PROVIDER=BLOCK", help="A provider's credentials block."),
    ] = None,
    concurrency: Annotated[list[str] | None, typer.Option(metavar="STEP=N")] = None,
    budget: Annotated[float | None, typer.Option(min=0, help="USD per video.")] = None,
    max_videos: Annotated[int, typer.Option(min=1, help="Videos produced at once.")] = 1,
    notion_board: Annotated[
        str | None, typer.Option(help="Use this existing NotionBoard block.")
    ] = None,
    notion_database: Annotated[
        str | None, typer.Option(help="Make a board for this Notion database id.")
    ] = None,
    notion_data_source: Annotated[str | None, typer.Option(help="Its data source id.")] = None,
    notion_token_env: Annotated[
        str, typer.Option(help="Environment variable holding the integration token.")
    ] = "NOTION_TOKEN",
    notion_base_url: Annotated[
        str, typer.Option(help="Notion's API (proxies, tests).")
    ] = "https://api.notion.com",
    notion_status_property: Annotated[str, typer.Option()] = "Status",
    notion_status_type: Annotated[str, typer.Option(help="status or select.")] = "status",
    retries: Annotated[
        list[str] | None,
        typer.Option(metavar="STEP=N", help="Immediate retries of a transient item failure."),
    ] = None,
    retry_later: Annotated[
        bool, typer.Option(help="Try a video again later when a step's retries run out.")
    ] = True,
    retry_base_minutes: Annotated[
        float | None, typer.Option(min=0.01, help="First later retry after (doubling).")
    ] = None,
    retry_max_age_hours: Annotated[
        float | None, typer.Option(min=0.01, help="Stop retrying once failures are this old.")
    ] = None,
    max_recoveries: Annotated[
        int | None, typer.Option(min=0, help="Start a crashed video again at most N times.")
    ] = None,
    loudness: Annotated[
        float | None,
        typer.Option(min=-30, max=-5, help="LUFS of its videos when a plan names none (-14)."),
    ] = None,
    publisher: Annotated[
        str | None, typer.Option(help="Where approved videos go: youtube or folder.")
    ] = None,
    privacy: Annotated[
        str, typer.Option(help="YouTube privacy when the plan says none: public|unlisted|private.")
    ] = "private",
    synthetic_media: Annotated[
        bool, typer.Option(help="Declare uploads as altered or synthetic media.")
    ] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing channel.")] = False,
) -> None:
    """Save a channel (and its NotionBoard block when --notion-database is given)."""
    try:
        check_channel_name(name)
    except ConfigError as exc:
        fail(str(exc))
    if notion_board and notion_database:
        fail("give --notion-board or --notion-database, not both")
    if notion_status_type not in ("status", "select"):
        fail("--notion-status-type is status or select")
    steps = _pairs(concurrency, "--concurrency", STEPS)
    refs = _pairs(credentials, "--credentials", tuple(_CREDENTIALS))
    channel = Channel(
        output_root=str(output_root.expanduser().resolve()) if output_root else None,
        providers=_pairs(provider, "--provider", STEPS),
        models=_pairs(model, "--model", STEPS),
        base_urls=_pairs(base_url, "--base-url", BASE_URLS),
        step_concurrency={step: _count(step, n) for step, n in steps.items()},
        step_retries={
            step: _count(step, n, minimum=0)
            for step, n in _pairs(retries, "--retries", STEPS).items()
        },
        retry_later=retry_later, retry_base_minutes=retry_base_minutes,
        retry_max_age_hours=retry_max_age_hours, max_recoveries=max_recoveries,
        budget_usd=budget, max_concurrent_videos=max_videos, notion_board=notion_board,
        loudness_lufs=loudness,
        publisher=publisher, privacy_status=privacy, contains_synthetic_media=synthetic_media,
        **{_CREDENTIALS[p][0]: block for p, block in refs.items()},
    )  # fmt: skip
    if publisher not in (None, "youtube", "folder"):
        fail(f"--publisher {publisher!r}: youtube or folder")
    if privacy not in ("public", "unlisted", "private"):
        fail(f"--privacy {privacy!r}: public, unlisted or private")
    unknown = sorted(set(channel.providers.values()) - set(PROVIDERS))
    if unknown:
        fail(f"unknown provider(s) {', '.join(unknown)}: known are {', '.join(PROVIDERS)}")
    board = None
    if notion_database:
        board = NotionBoard(
            token=_token(notion_token_env), database_id=notion_database,
            data_source_id=notion_data_source, base_url=notion_base_url.rstrip("/"),
            status_property=notion_status_property, status_property_type=notion_status_type,
        )  # fmt: skip
        channel.notion_board = name
    typer.echo(run(_save(name, channel, board, overwrite)))


def _token(variable: str) -> str:
    token = os.environ.get(variable, "").strip()
    if not token:
        fail(f"set {variable} to the Notion integration token (--notion-token-env)")
    return token


def _count(step: str, value: str, *, minimum: int = 1) -> int:
    if not value.isdigit() or int(value) < minimum:
        option = "--concurrency" if minimum else "--retries"
        fail(f"{option} {step}={value}: a whole number of at least {minimum}")
    return int(value)


async def _save(name: str, channel: Channel, board: NotionBoard | None, overwrite: bool) -> str:
    if not overwrite and await load_channel_block(name) is not None:
        raise ConfigError(f"channel {name!r} exists: --overwrite replaces it")
    await _check_references(channel)
    await _check_shares_nothing(name, channel, board)
    if board is not None:
        await board.asave(name, overwrite=True)
    await channel.asave(name, overwrite=overwrite)
    forget_blocks()
    forget_boards()
    where = f", board {channel.notion_board!r}" if channel.notion_board else ""
    return "\n".join([f"saved channel {name!r}{where}", *await _update_queues(name, channel)])


async def _update_queues(name: str, channel: Channel) -> list[str]:
    """Bring the channel's existing work queues to its new limit now (best effort: the
    next ``reelflow submit`` or intake does it anyway)."""
    import httpx

    from flows.launch import queue_name, update_channel_queues

    try:
        return await update_channel_queues(name, channel.max_concurrent_videos)
    except httpx.HTTPError as exc:
        return [
            f"work queue {queue_name(name)!r} not updated ({type(exc).__name__}): the next "
            "submit or intake sets its limit"
        ]


async def _check_references(channel: Channel) -> None:
    """Every block the channel names exists."""
    for field, kind in _CREDENTIALS.values():
        reference = getattr(channel, field)
        if reference and not await _exists(kind, reference):
            raise ConfigError(f"no {kind.__name__} block {reference!r}")


async def _check_shares_nothing(name: str, channel: Channel, board: NotionBoard | None) -> None:
    """No other channel uses this board (or its database) or these credential blocks."""
    if channel.notion_board and board is None:
        existing = await _load(NotionBoard, channel.notion_board)
        if existing is None:
            raise ConfigError(f"no NotionBoard block {channel.notion_board!r}")
        board = existing
    mine = _references(channel)
    database = board.database_id if board else None
    for other, data in (await channel_documents()).items():
        if other == name:
            continue
        shared = mine & _references(Channel.model_validate(data))
        if shared:
            raise ConfigError(f"channel {other!r} already uses {', '.join(sorted(shared))}")
        other_board = data.get("notion_board")
        theirs = await _load(NotionBoard, other_board) if other_board else None
        if database and theirs is not None and theirs.database_id == database:
            raise ConfigError(f"channel {other!r}'s board is already database {database}")


def _references(channel: Channel) -> set[str]:
    refs = {f"board {channel.notion_board!r}"} if channel.notion_board else set()
    for field, kind in _CREDENTIALS.values():
        if getattr(channel, field):
            refs.add(f"{kind.__name__} {getattr(channel, field)!r}")
    return refs


async def _exists(kind: Any, name: str) -> bool:
    return await _load(kind, name) is not None


async def _load(kind: Any, name: str) -> Any:
    try:
        return await kind.aload(name)
    except ValueError:
        return None


@app.command("list")
def list_channels() -> None:
    """Every channel: its board, providers and budget."""
    channels = run(channel_documents())
    typer.echo(f"{'NAME':20} {'BOARD':20} {'BUDGET':>8}  PROVIDERS")
    for name, data in sorted(channels.items()):
        providers = ", ".join(f"{s}={p}" for s, p in (data.get("providers") or {}).items())
        budget = f"${data['budget_usd']:.2f}" if data.get("budget_usd") is not None else "-"
        typer.echo(
            f"{name:20} {data.get('notion_board') or '-':20} {budget:>8}  {providers or 'local'}"
        )


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The channel.")],
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """A channel's settings and its board's (the token is never shown)."""
    shown = run(_describe(name))
    if json_output:
        print_json(shown)
        return
    for key, value in shown["channel"].items():
        typer.echo(f"{key:24} {value}")
    for key, value in (shown.get("board") or {}).items():
        typer.echo(f"board.{key:18} {value}")


async def _describe(name: str) -> dict[str, Any]:
    channel = await load_channel_block(name)
    if channel is None:
        raise ConfigError(f"no channel {name!r} (reelflow channel list)")
    shown: dict[str, Any] = {"channel": channel.model_dump(mode="json")}
    if channel.notion_board:
        board = await _load(NotionBoard, channel.notion_board)
        if board is None:
            shown["board"] = {"missing": f"no NotionBoard block {channel.notion_board!r}"}
        else:
            shown["board"] = {
                **board.model_dump(mode="json", exclude={"token"}),
                "token": "set (secret)",
            }
    return shown
