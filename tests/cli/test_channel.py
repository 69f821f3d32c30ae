"""``reelflow channel create | list | show``: Channel and NotionBoard blocks from the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from blocks import Channel, NotionBoard
from flows.cli.main import app

pytestmark = pytest.mark.usefixtures("prefect_api")

runner = CliRunner()
TOKEN = "secret_CLI-canary-token-5511"


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"NOTION_TEST_TOKEN": TOKEN})


@pytest.fixture
def names() -> Iterator[list[str]]:
    """Fresh channel names; their Channel and NotionBoard blocks are deleted afterwards."""
    made = [f"ch-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    yield made

    async def drop() -> None:
        for name in made:
            for kind in (Channel, NotionBoard):
                with contextlib.suppress(ValueError):
                    await kind.adelete(name)

    asyncio.run(drop())


def create(name: str, *extra: str) -> Result:
    return invoke(
        "channel", "create", name, "--notion-database", f"db-{name}",
        "--notion-token-env", "NOTION_TEST_TOKEN", "--notion-base-url", "http://127.0.0.1:9/",
        *extra,
    )  # fmt: skip


def test_create_saves_the_channel_and_its_board_and_never_prints_the_token(
    names: list[str], tmp_path: Path
) -> None:
    name = names[0]
    made = create(name, "--provider", "video=kling", "--provider", "narration=elevenlabs",
                  "--budget", "12.5", "--concurrency", "video=2", "--output-root", str(tmp_path),
                  "--notion-status-type", "select")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == f"saved channel {name!r}, board {name!r}"
    channel = Channel.load(name)
    assert (channel.providers, channel.budget_usd) == (
        {"video": "kling", "narration": "elevenlabs"}, 12.5,
    )  # fmt: skip
    assert channel.step_concurrency == {"video": 2} and channel.output_root == str(tmp_path)
    board = NotionBoard.load(name)
    assert board.token.get_secret_value() == TOKEN
    assert (board.database_id, board.base_url, board.status_property_type) == (
        f"db-{name}", "http://127.0.0.1:9", "select",
    )  # fmt: skip
    shown = invoke("channel", "show", name)
    assert shown.exit_code == 0, shown.output
    assert "board.token" in shown.stdout and "set (secret)" in shown.stdout
    as_json = json.loads(invoke("channel", "show", name, "--json").stdout)
    assert as_json["board"]["database_id"] == f"db-{name}"
    assert as_json["channel"]["providers"]["video"] == "kling"
    listed = invoke("channel", "list").stdout
    assert name in listed and "video=kling" in listed and "$12.50" in listed
    for result in (made, shown, listed):
        assert TOKEN not in str(result)


def test_an_existing_channel_is_replaced_only_with_overwrite(names: list[str]) -> None:
    name = names[0]
    assert create(name).exit_code == 0
    again = create(name, "--budget", "3")
    assert again.exit_code == 1
    assert f"channel {name!r} exists: --overwrite replaces it" in again.stderr
    assert create(name, "--budget", "3", "--overwrite").exit_code == 0
    assert Channel.load(name).budget_usd == 3


def test_two_channels_share_neither_a_board_nor_its_database(names: list[str]) -> None:
    first, second, _ = names
    assert create(first).exit_code == 0
    shared = invoke("channel", "create", second, "--notion-board", first)
    assert shared.exit_code == 1
    assert f"channel {first!r} already uses board {first!r}" in shared.stderr
    same_database = invoke(
        "channel", "create", second, "--notion-database", f"db-{first}",
        "--notion-token-env", "NOTION_TEST_TOKEN",
    )  # fmt: skip
    assert same_database.exit_code == 1
    assert f"channel {first!r}'s board is already database db-{first}" in same_database.stderr
    assert invoke("channel", "show", second).exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad_Name"], "channel name 'Bad_Name': use lowercase letters, digits and dashes"),
        (["ok", "--provider", "video"], "--provider 'video': write KEY=VALUE with KEY one of"),
        (["ok", "--provider", "video=sora"], "unknown provider(s) sora: known are local,"),
        (["ok", "--concurrency", "video=0"], "--concurrency video=0: a whole number"),
        (["ok", "--credentials", "gemini=nope"], "no GeminiCredentials block 'nope'"),
        (["ok", "--notion-database", "d", "--notion-token-env", "UNSET_VAR"],
         "set UNSET_VAR to the Notion integration token"),
        (["ok", "--notion-board", "no-such-board"], "no NotionBoard block 'no-such-board'"),
    ],
)  # fmt: skip
def test_a_bad_option_is_named_and_nothing_is_saved(args: list[str], message: str) -> None:
    result = invoke("channel", "create", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert invoke("channel", "show", args[0]).exit_code == 1
