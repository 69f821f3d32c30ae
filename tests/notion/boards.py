"""Channels with a board on the fake Notion, saved as real blocks on the test Prefect server.

Each has a unique name and is deleted afterwards: blocks outlive a test on the session's
server, and every other test's channel must stay board-less.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from blocks import Channel, NotionBoard
from tests.notion.fake import FakeNotion

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # tests' plans: here and tmp


@dataclass
class BoardChannel:
    """A channel whose NotionBoard block points at the fake service."""

    channel: str
    board: str
    fake: FakeNotion


def forget_cached_blocks() -> None:
    from flows.channels import forget_blocks
    from flows.notion.boards import forget_boards

    forget_blocks()
    forget_boards()


async def save_board_channel(fake: FakeNotion, **board: object) -> BoardChannel:
    """A NotionBoard block for ``fake`` (fields overridable) and a Channel block using it."""
    name = f"nt-{uuid.uuid4().hex[:10]}"
    values: dict[str, object] = {
        "token": fake.token, "database_id": fake.database_id, "base_url": fake.url,
        "plan_roots": [str(EXAMPLES), tempfile.gettempdir()], **board,
    }  # fmt: skip
    await NotionBoard(**values).asave(name)
    await Channel(notion_board=name).asave(name)
    forget_cached_blocks()
    return BoardChannel(channel=name, board=name, fake=fake)


async def drop_board_channel(channel: BoardChannel) -> None:
    await Channel.adelete(channel.channel)
    await NotionBoard.adelete(channel.board)
    forget_cached_blocks()
