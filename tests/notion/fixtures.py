"""Fixtures for everything that talks to Notion: the fake service, and a board channel on it.

A plugin rather than a conftest: the tests using it mirror the modules they test (tests/,
tests/core/, tests/cli/), and a conftest in tests/notion/ would only reach tests/notion/.
Test modules load it with ``pytest_plugins = ["tests.notion.fixtures"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from blocks import Channel, NotionBoard
from tests.notion.boards import (
    BoardChannel,
    drop_board_channel,
    forget_cached_blocks,
    save_board_channel,
)
from tests.notion.fake import FakeNotion


@pytest.fixture
def fake_notion() -> Iterator[FakeNotion]:
    """The fake Notion service on a free loopback port, answering at once."""
    fake = FakeNotion().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
async def notion_limits(prefect_api: str) -> None:
    """The project's blocks and global concurrency limits, as ``reelflow setup`` makes them."""
    from flows.cli.setup import ensure_limits, register_blocks

    await register_blocks()
    await ensure_limits()


@pytest.fixture
async def board_channel(
    notion_limits: None, fake_notion: FakeNotion
) -> AsyncIterator[BoardChannel]:
    """A channel with a board on the fake Notion."""
    channel = await save_board_channel(fake_notion)
    yield channel
    await drop_board_channel(channel)


@pytest.fixture
def fresh_channel() -> Iterator[str]:
    """A channel name no block has yet; its Channel and NotionBoard blocks (made by the
    test, e.g. through ``notion init --channel``) are deleted afterwards."""
    name = f"fc-{uuid.uuid4().hex[:8]}"
    yield name

    async def drop() -> None:
        for kind in (Channel, NotionBoard):
            with contextlib.suppress(ValueError):
                await kind.adelete(name)

    asyncio.run(drop())
    forget_cached_blocks()
