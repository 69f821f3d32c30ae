"""``reelflow notion check`` and ``reelflow notion reconcile`` against the fake Notion."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from typer.testing import CliRunner, Result

from blocks import Channel, NotionBoard
from flows.cli.main import app
from flows.core import videos
from flows.core.settings import Settings
from flows.core.store import session_scope
from tests.factories import TINY, open_video
from tests.notion.boards import (
    BoardChannel,
    drop_board_channel,
    save_board_channel,
)
from tests.notion.fake import FakeNotion

pytest_plugins = ["tests.notion.fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api", "notion_limits")

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def board(fake_notion: FakeNotion) -> Iterator[Any]:
    """Save a channel whose board is on the fake Notion (fields overridable); dropped after."""
    made: list[BoardChannel] = []

    def save(**fields: object) -> BoardChannel:
        made.append(asyncio.run(save_board_channel(fake_notion, **fields)))
        return made[-1]

    yield save
    for channel in made:
        asyncio.run(drop_board_channel(channel))


def test_check_says_a_complete_board_is_ready(board: Any) -> None:
    channel = board()
    result = invoke("notion", "check", "--channel", channel.channel)
    assert result.exit_code == 0, result.output
    assert f"board {channel.board!r} is ready" in result.stdout
    assert [s.path.split("/")[0] for s in channel.fake.seen()] == ["databases", "data_sources"]


def test_check_names_every_missing_property_wrong_type_and_the_status_mapping(
    board: Any,
) -> None:
    channel = board(status_options={"queued": "Queued", "manifest_error": "Manifest Error"})
    schema = channel.fake.schema
    del schema["Cost"], schema["Video ID"]
    schema["Duration"] = {"id": "dur", "name": "Duration", "type": "checkbox", "checkbox": {}}
    schema["Status"]["status"]["options"] = [{"id": "q", "name": "Queued"}]
    result = invoke("notion", "check", "--board", channel.board)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"board {channel.board!r} is not ready:",
        "  - property Video ID (number) is missing: `--fix` adds it",
        "  - property Cost (number) is missing: `--fix` adds it",
        "  - property Duration is checkbox, expected number or rich_text: rename it, or name "
        "another in the block",
    ]
    assert "shows: manifest_error → 'Queued'" in result.stdout


def test_check_says_the_token_was_refused_without_printing_it(board: Any) -> None:
    channel = board(token="secret_REFUSED-canary-77")
    result = invoke("notion", "check", "--channel", channel.channel)
    assert result.exit_code == 1
    assert "the token was refused (Notion 401 unauthorized: API token is invalid.)" in (
        result.stderr
    )
    assert "save the integration's token on the board" in result.stderr
    assert "secret_REFUSED-canary-77" not in result.output


def test_check_says_a_database_the_integration_cannot_see(board: Any) -> None:
    channel = board(database_id="0000-not-shared")
    result = invoke("notion", "check", "--channel", channel.channel)
    assert result.exit_code == 1
    assert "database 0000-not-shared is not found or not shared with the integration" in (
        result.stderr
    )
    assert "Connections → add the integration" in result.stderr


def test_check_needs_a_channel_with_a_board_or_a_board() -> None:
    assert "give --channel NAME or --board BLOCK" in invoke("notion", "check").stderr
    result = invoke("notion", "check", "--channel", "no-such-channel")
    assert result.exit_code == 1 and "has no board" in result.stderr


def test_reconcile_pushes_a_board_left_behind(settings: Settings, board: Any) -> None:
    channel = board()

    async def left_behind() -> int:
        video_id = await open_video(channel=channel.channel)
        async with session_scope() as session:
            await videos.set_status(session=session, video_id=video_id, status="assembling")
        return video_id

    video_id = asyncio.run(left_behind())
    result = invoke("notion", "reconcile", "--channel", channel.channel)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("1 synced")
    page = channel.fake.cards()[0]
    assert channel.fake.value(page, "Status") == "Assembling"
    assert channel.fake.value(page, "Video ID") == video_id
    again = invoke("notion", "reconcile", "--channel", channel.channel)
    assert again.stdout.strip().endswith("every card is up to date")


def test_intake_here_refuses_a_card_without_a_plan_and_starts_nothing(
    settings: Settings, board: Any
) -> None:
    channel = board()
    card = channel.fake.add_card("No plan")
    result = invoke("notion", "intake", "--channel", channel.channel, "--here")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no queued card to start"
    assert channel.fake.value(card, "Status") == "Manifest Error"
    assert "the card has no plan" in channel.fake.value(card, "Error")


def test_intake_deployed_starts_each_queued_card_through_the_deployment(
    settings: Settings, board: Any
) -> None:
    channel = board()
    plan = str(TINY)
    card = channel.fake.add_card("Tiny", manifest=plan)
    deployment = asyncio.run(_deployment("produce-video"))
    try:
        result = invoke("notion", "intake", "--channel", channel.channel, "--deployed")
        assert result.exit_code == 0, result.output
        video_id, run_id = result.stdout.strip().removeprefix("video ").split(": ")
        run = asyncio.run(_flow_run(run_id))
        assert run.deployment_id == deployment and run.parameters == {"video_id": int(video_id)}
        assert channel.fake.value(card, "Status") == "Processing"
        again = invoke("notion", "intake", "--channel", channel.channel, "--deployed")
        assert again.stdout.strip() == "no queued card to start", "a card starts once"
    finally:
        asyncio.run(_drop_deployment(deployment))


async def _deployment(flow_name: str) -> UUID:
    """A produce-video deployment with no worker: its runs are only scheduled."""
    async with get_client() as client:
        flow_id = await client.create_flow_from_name(flow_name)
        return await client.create_deployment(
            flow_id=flow_id, name="produce-video", entrypoint="flows/pipeline.py:produce_video"
        )


async def _flow_run(run_id: str) -> FlowRun:
    async with get_client() as client:
        return await client.read_flow_run(UUID(run_id))


async def _drop_deployment(deployment: UUID) -> None:
    async with get_client() as client:
        await client.delete_deployment(deployment)


# --- notion init ------------------------------------------------------------------------------


def init(fake: FakeNotion, *args: str) -> Result:
    return runner.invoke(
        app, ["notion", "init", "--token-env", "NOTION_INIT_TOKEN", "--base-url", fake.url, *args],
        env={"NOTION_INIT_TOKEN": fake.token},
    )  # fmt: skip


def test_init_makes_one_full_board_under_the_page_and_stores_it_on_the_channel(
    fake_notion: FakeNotion, fresh_channel: str
) -> None:
    first = init(fake_notion, "--parent", fake_notion.parent_page, "--channel", fresh_channel)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].startswith(f"made board 'Reelflow videos: {fresh_channel}': database ")
    assert lines[-1] == f"channel {fresh_channel!r} made with board {fresh_channel!r}"
    database = lines[0].split("database ")[1].split()[0]
    source, schema = fake_notion.board(database)
    assert {name: spec["type"] for name, spec in schema.items()} == {
        "Name": "title", "Status": "select", "Video ID": "number", "Manifest": "rich_text",
        "Error": "rich_text", "Cost": "number", "Duration": "number", "Output": "url",
        "Review": "url", "Decision": "rich_text", "Channel": "select", "Updated": "date",
    }  # fmt: skip
    assert len(schema["Status"]["select"]["options"]) == 27
    block = NotionBoard.load(fresh_channel)
    assert (block.database_id, block.data_source_id) == (database, source)
    assert Channel.load(fresh_channel).notion_board == fresh_channel
    again = init(fake_notion, "--parent", fake_notion.parent_page, "--channel", fresh_channel)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(
        f"found board 'Reelflow videos: {fresh_channel}': database {database}"
    )
    assert f"channel {fresh_channel!r} now uses board" in again.stdout
    assert len(fake_notion.space.databases) == 2, "the fake's own board and the one made"
    assert fake_notion.token not in first.output + again.output


def test_init_without_a_channel_says_how_to_use_the_board(fake_notion: FakeNotion) -> None:
    result = init(fake_notion, "--parent", fake_notion.parent_page, "--title", "Boards")
    assert result.exit_code == 0, result.output
    assert "reelflow channel create NAME --notion-database " in result.stdout


def test_init_under_a_database_or_a_page_not_shared_says_what_to_do(
    fake_notion: FakeNotion,
) -> None:
    database = init(fake_notion, "--parent", fake_notion.database_id)
    assert database.exit_code == 1
    assert database.stderr.strip() == (
        f"error: {fake_notion.database_id} is a database, not a page: give the page that "
        "should hold the board, or use this database with `reelflow channel create NAME "
        f"--notion-database {fake_notion.database_id}`"
    )
    hidden = init(fake_notion, "--parent", "0000-not-shared")
    assert hidden.exit_code == 1 and len(hidden.stderr.strip().splitlines()) == 1
    assert "page 0000-not-shared is not found or not shared with the integration" in hidden.stderr
    assert "Connections → add the integration" in hidden.stderr
    assert len(fake_notion.space.databases) == 1, "nothing made"
    assert (
        "set NOTION_X"
        in runner.invoke(app, ["notion", "init", "--parent", "p", "--token-env", "NOTION_X"]).stderr
    )


def test_check_fix_adds_properties_but_says_a_status_property_keeps_its_options(
    board: Any,
) -> None:
    channel = board()
    schema = channel.fake.schema
    for name in ("Video ID", "Review", "Updated"):
        del schema[name]
    result = invoke("notion", "check", "--channel", channel.channel, "--fix")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        f"board {channel.board!r}: added Video ID (number)",
        f"board {channel.board!r}: added Review (url)",
        f"board {channel.board!r}: added Updated (date)",
    ]
    assert schema["Video ID"]["type"] == "number" and schema["Updated"]["type"] == "date"
    assert "Status" in schema and schema["Status"]["type"] == "status"
