"""A new user's first runs with a Notion board, end to end through the CLI.

(a) a fresh Prefect home, no `reelflow setup`, a board with only Name and Notion's default
    Status → one card, ending in the status's "Done"; (b) `notion init`, then a run → every
    property filled, statuses in order; (c) `notion check --fix` on a partial board, then a run
    → everything filled; (d) a crash between a card's create and its record → still one card.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from flows.cli.main import app
from flows.core import videos
from flows.core.settings import Settings
from flows.core.store import session_scope
from flows.notion import push
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, open_video
from tests.notion.boards import forget_cached_blocks
from tests.notion.fake import OPTIONS, FakeNotion
from tests.notion.workspace import notion_default_schema

pytest_plugins = ["tests.notion.fixtures"]

pytestmark = pytest.mark.usefixtures("prefect_api")

runner = CliRunner()
ENV = "NOTION_FIRST_RUN_TOKEN"
IN_ORDER = ["Queued", "Processing", "Generating Assets", "Generating Composites",
            "Generating Video", "Generating Audio", "Generating SFX", "Assembling",
            "Awaiting Review", "Approved", "Publishing", "Published"]  # fmt: skip


@pytest.fixture
def pipeline_settings(configure: Configure) -> Settings:
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


@pytest.fixture
def channel(fresh_channel: str) -> str:
    return fresh_channel


def invoke(fake: FakeNotion, *args: str) -> Result:
    return runner.invoke(app, list(args), env={ENV: fake.token})


def create_channel(fake: FakeNotion, name: str) -> None:
    result = invoke(fake, "channel", "create", name, "--notion-database", fake.database_id,
                    "--notion-token-env", ENV, "--notion-base-url", fake.url)  # fmt: skip
    assert result.exit_code == 0, result.output
    forget_cached_blocks()


def value(fake: FakeNotion, page: str, name: str) -> Any:
    return fake.value(page, name)


def test_a_fresh_prefect_home_and_notions_default_board_get_one_card_ending_done(
    tmp_path: Path,
) -> None:
    fake = FakeNotion(schema=notion_default_schema()).start()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REELFLOW_"))
    } | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "REELFLOW_DATA_DIR": str(tmp_path / "data"), "REELFLOW_OUTPUT_DIR": str(tmp_path / "out"),
        "NOTION_TOKEN": fake.token,
    }  # fmt: skip
    reelflow = [str(Path(sys.executable).parent / "reelflow")]
    try:
        for args in (
            ["channel", "create", "history", "--notion-database", fake.database_id,
             "--notion-base-url", fake.url],
            ["run", str(TINY), "--channel", "history", "--approve"],
        ):  # fmt: skip
            done = subprocess.run(
                reelflow + args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                timeout=240,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
        assert "must be created" not in done.stderr and "reelflow setup" not in done.stderr
    finally:
        fake.stop()
    [card] = fake.cards()
    assert value(fake, card, "Status") == "Done"
    assert value(fake, card, "Name") == "Tiny Test Film"
    written = fake.written_statuses()
    order = ["Not started", "In progress", "Done"]
    assert [order.index(s) for s in written] == sorted(order.index(s) for s in written)
    assert not fake.seen(status=400), "nothing was written that the board lacks"


def test_init_then_a_run_fills_every_property_with_statuses_in_order(
    pipeline_settings: Settings, channel: str
) -> None:
    fake = FakeNotion().start()
    try:
        made = invoke(fake, "notion", "init", "--parent", fake.parent_page, "--channel", channel,
                      "--token-env", ENV, "--base-url", fake.url)  # fmt: skip
        assert made.exit_code == 0, made.output
        database = made.stdout.split("database ")[1].split()[0]
        forget_cached_blocks()
        result = invoke(fake, "run", str(TINY), "--channel", channel, "--approve")
        assert result.exit_code == 0, result.output
    finally:
        fake.stop()
    [card] = fake.cards(database)
    video = asyncio.run(_video(card))
    assert value(fake, card, "Status") == "Published"  # approved, then published
    assert value(fake, card, "Video ID") == video.id
    assert value(fake, card, "Manifest") == video.manifest_source
    assert value(fake, card, "Error") == ""
    assert value(fake, card, "Cost") == 0 and value(fake, card, "Duration") > 0
    assert value(fake, card, "Output") == video.public_url  # published: its URL
    assert value(fake, card, "Review").endswith(f"/v2/runs/flow-run/{video.flow_run_id}")
    assert value(fake, card, "Channel") == channel
    assert value(fake, card, "Decision").startswith("approved")
    assert value(fake, card, "Updated")["start"]
    written = fake.written_statuses()
    assert written[-1] == "Published"
    assert [IN_ORDER.index(s) for s in written] == sorted(IN_ORDER.index(s) for s in written)


async def _video(page_id: str) -> videos.Video:
    from flows.notion.records import find_video_by_page

    async with session_scope() as session:
        video = await find_video_by_page(session=session, page_id=page_id)
    assert video is not None
    return video


def test_check_fix_on_a_partial_board_then_a_run_fills_everything(
    pipeline_settings: Settings, channel: str
) -> None:
    schema = {
        "Name": {"id": "t", "name": "Name", "type": "title", "title": {}},
        "Status": {"id": "s", "name": "Status", "type": "select",
                   "select": {"options": [{"id": "q", "name": "Queued", "color": "gray"}]}},
        "Cost": {"id": "c", "name": "Cost", "type": "number", "number": {}},
    }  # fmt: skip
    fake = FakeNotion(schema=schema).start()
    try:
        create_channel(fake, channel)
        before = invoke(fake, "notion", "check", "--channel", channel)
        assert before.exit_code == 1 and "Video ID (number) is missing" in before.stderr
        fixed = invoke(fake, "notion", "check", "--channel", channel, "--fix")
        assert fixed.exit_code == 0, fixed.output
        assert f"board {channel!r}: added Video ID (number)" in fixed.stdout
        assert f"board {channel!r} is ready" in fixed.stdout
        options = [o["name"] for o in fake.schema["Status"]["select"]["options"]]
        assert options == OPTIONS, "every option, the one it had kept first"
        result = invoke(fake, "run", str(TINY), "--channel", channel, "--approve")
        assert result.exit_code == 0, result.output
    finally:
        fake.stop()
    [card] = fake.cards()
    for name in ("Video ID", "Manifest", "Duration", "Output", "Review", "Decision", "Channel",
                 "Updated"):  # fmt: skip
        assert value(fake, card, name) not in (None, ""), name
    assert value(fake, card, "Status") == "Published"  # approved, then published


def test_a_crash_between_a_cards_create_and_its_record_still_leaves_one_card(
    settings: Settings, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeNotion(schema=notion_default_schema()).start()  # no Video ID to find it by
    try:
        create_channel(fake, channel)
        video_id = asyncio.run(open_video(channel=channel))
        real = push.records.mark_notion_synced

        async def crash(**kwargs: Any) -> None:
            raise RuntimeError("the process died here")

        monkeypatch.setattr(push.records, "mark_notion_synced", crash)
        crashed = invoke(fake, "notion", "reconcile", "--channel", channel)
        assert crashed.exit_code != 0
        assert len(fake.cards()) == 1, "the create landed; its page id was never recorded"
        assert asyncio.run(_page_of(video_id)) is None
        monkeypatch.setattr(push.records, "mark_notion_synced", real)
        asyncio.run(_expire_lease(video_id))
        healed = invoke(fake, "notion", "reconcile", "--channel", channel)
        assert healed.exit_code == 0, healed.output
        assert healed.stdout.strip().endswith("1 synced")
    finally:
        fake.stop()
    [card] = fake.cards()
    assert asyncio.run(_video(card)).id == video_id
    assert len(fake.seen("POST", "pages")) == 1


async def _page_of(video_id: int) -> str | None:
    async with session_scope() as session:
        return (await videos.get_video(session=session, video_id=video_id)).notion_page_id


async def _expire_lease(video_id: int) -> None:
    """A dead process's card lease runs out (60 s); here at once."""
    from sqlalchemy import update

    async with session_scope() as session:
        await session.execute(
            update(videos.Video).where(videos.Video.id == video_id)
            .values(notion_lease=None, notion_lease_until=None)
        )  # fmt: skip
