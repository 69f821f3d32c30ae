"""Fixtures for everything that talks to the paid providers: the three fake services.

A plugin rather than only a conftest, because the budget, CLI and pipeline tests elsewhere
use the fakes too: their modules load it with
``pytest_plugins = ["tests.scripts.providers.fixtures"]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.scripts.providers.elevenlabs import FakeElevenLabs
from tests.scripts.providers.fakes import (
    ChannelMaker,
    Fakes,
    drop_paid_channel,
    save_paid_channel,
)
from tests.scripts.providers.gemini import FakeGemini
from tests.scripts.providers.kling import FakeKling


@pytest.fixture(scope="session")
def provider_fakes() -> Iterator[Fakes]:
    """The fakes, started once for the session on free loopback ports."""
    fakes = Fakes(FakeGemini().start(), FakeKling().start(), FakeElevenLabs().start())
    yield fakes
    for fake in (fakes.gemini, fakes.kling, fakes.elevenlabs):
        fake.stop()


@pytest.fixture
def fakes(provider_fakes: Fakes) -> Iterator[Fakes]:
    """The fakes with no requests recorded and no faults pending."""
    provider_fakes.reset()
    yield provider_fakes
    provider_fakes.reset()


@pytest.fixture
async def paid_channel(prefect_api: str, fakes: Fakes) -> AsyncIterator[ChannelMaker]:
    """Makes channels whose providers are the fakes (Channel and credential blocks on the
    test Prefect server, deleted afterwards)."""
    made: list[str] = []

    async def make(**options: Any) -> str:
        name = await save_paid_channel(fakes, **options)
        made.append(name)
        return name

    yield make
    for name in made:
        await drop_paid_channel(name)


@pytest.fixture
def channel_on_fakes(prefect_api: str, fakes: Fakes) -> Iterator[Callable[..., str]]:
    """``paid_channel`` for synchronous tests (the CLI's, which run their own event loops)."""
    made: list[str] = []

    def make(**options: Any) -> str:
        made.append(asyncio.run(save_paid_channel(fakes, **options)))
        return made[-1]

    yield make
    for name in made:
        asyncio.run(drop_paid_channel(name))
