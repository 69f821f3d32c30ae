"""``reelflow channel create | list | show``: Channel and NotionBoard blocks from the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
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


async def _pool_with_queue(pool: str, queue: str, limit: int) -> None:
    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        await client.create_work_queue(queue, work_pool_name=pool, concurrency_limit=limit)


async def _queue_limit(pool: str, queue: str) -> int | None:
    async with get_client() as client:
        return (await client.read_work_queue_by_name(queue, work_pool_name=pool)).concurrency_limit


async def _drop_pool(pool: str) -> None:
    async with get_client() as client:
        await client.delete_work_pool(pool)


def test_a_new_video_limit_reaches_the_channel_work_queue_at_once(names: list[str]) -> None:
    name, pool = names[0], f"pool-{uuid.uuid4().hex[:8]}"
    assert create(name).exit_code == 0
    asyncio.run(_pool_with_queue(pool, f"channel-{name}", 1))
    try:
        changed = create(name, "--max-videos", "3", "--overwrite")
        assert changed.exit_code == 0, changed.output
        assert changed.stdout.splitlines() == [
            f"saved channel {name!r}, board {name!r}",
            f"work queue 'channel-{name}' (pool {pool!r}): 1 → 3 videos at once",
        ]
        assert asyncio.run(_queue_limit(pool, f"channel-{name}")) == 3
        same = create(name, "--max-videos", "3", "--overwrite")
        assert same.stdout.splitlines() == [f"saved channel {name!r}, board {name!r}"]
    finally:
        asyncio.run(_drop_pool(pool))
    without_queue = create(names[1], "--max-videos", "2")
    assert without_queue.stdout.splitlines() == [f"saved channel {names[1]!r}, board {names[1]!r}"]


def test_a_channel_sets_its_own_retry_policy_and_a_bad_count_is_refused(
    names: list[str], settings: object
) -> None:
    from flows.channels import forget_blocks, resolve_channel

    name = names[0]
    made = invoke(
        "channel", "create", name, "--retries", "video=5", "--retry-base-minutes", "2",
        "--retry-max-age-hours", "6", "--max-recoveries", "1",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    forget_blocks()
    config = asyncio.run(resolve_channel(name))
    assert config.retries("video") == 5 and config.retries("assets") == 3
    assert config.retry.base_s == 120 and config.retry.max_age_s == 6 * 3600
    assert config.retry.max_recoveries == 1 and config.retry.retry_later
    off = invoke("channel", "create", names[1], "--no-retry-later")
    assert off.exit_code == 0, off.output
    forget_blocks()
    assert not asyncio.run(resolve_channel(names[1])).retry.retry_later
    bad = invoke("channel", "create", names[2], "--retries", "video=-1")
    assert bad.exit_code == 1 and "--retries video=-1: a whole number of at least 0" in bad.output
