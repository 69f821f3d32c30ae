"""The three fake providers together, and the environment that points scripts at them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.scripts.providers import elevenlabs, gemini, kling
from tests.scripts.providers.elevenlabs import FakeElevenLabs
from tests.scripts.providers.gemini import FakeGemini
from tests.scripts.providers.kling import FakeKling

ChannelMaker = Callable[..., Awaitable[str]]
CANARIES = (gemini.KEY, kling.ACCESS_KEY, kling.SECRET_KEY, elevenlabs.KEY)


@dataclass
class Fakes:
    """The three fake providers, and the environment that points scripts at them."""

    gemini: FakeGemini
    kling: FakeKling
    elevenlabs: FakeElevenLabs

    def env(self) -> dict[str, str]:
        """Keys (the canaries), base URLs, and a quick Kling poll."""
        return {
            "REELFLOW_GEMINI_API_KEY": self.gemini.key,
            "REELFLOW_GEMINI_BASE_URL": self.gemini.url,
            "REELFLOW_KLING_ACCESS_KEY": self.kling.access_key,
            "REELFLOW_KLING_SECRET_KEY": self.kling.secret_key,
            "REELFLOW_KLING_BASE_URL": self.kling.url,
            "REELFLOW_KLING_POLL_SECONDS": "0.05",
            "REELFLOW_ELEVENLABS_API_KEY": self.elevenlabs.key,
            "REELFLOW_ELEVENLABS_BASE_URL": self.elevenlabs.url,
        }

    def secrets(self) -> list[str]:
        """Every key, and every token derived from one, that must never be written down."""
        return [*CANARIES, *self.kling.tokens]

    def paid(self) -> int:
        """Requests that would have cost money: images, clip tasks, speech, sounds."""
        return (
            len(self.gemini.seen("POST", status=200))
            + len(self.kling.created())
            + len(self.elevenlabs.seen("POST", status=200))
        )

    def reset(self) -> None:
        for fake in (self.gemini, self.kling, self.elevenlabs):
            fake.reset()
        self.gemini.plain_backdrop = True
        self.kling.tasks.clear()
        self.kling.tokens.clear()
        self.kling.polls, self.kling.fail_tasks = 2, None


PAID = {"assets": "gemini", "video": "kling", "narration": "elevenlabs", "sfx": "elevenlabs"}


async def save_paid_channel(
    fakes: Fakes, *, providers: dict[str, str] | None = None, budget: float | None = None,
    keys: dict[str, str] | None = None, models: dict[str, str] | None = None,
    base_urls: dict[str, str] | None = None,
) -> str:  # fmt: skip
    """A Channel block using the fakes (every paid step by default) with credential blocks
    holding the canary keys (``keys`` overrides some: api_key, access_key, secret_key,
    elevenlabs_key)."""
    from blocks import Channel, ElevenLabsCredentials, GeminiCredentials, KlingCredentials
    from flows.channels import forget_blocks

    name = f"pv-{uuid.uuid4().hex[:10]}"
    keys = keys or {}
    await GeminiCredentials(api_key=keys.get("api_key", fakes.gemini.key)).asave(name)
    await KlingCredentials(
        access_key=keys.get("access_key", fakes.kling.access_key),
        secret_key=keys.get("secret_key", fakes.kling.secret_key),
    ).asave(name)
    await ElevenLabsCredentials(api_key=keys.get("elevenlabs_key", fakes.elevenlabs.key)).asave(
        name
    )
    urls = {"gemini": fakes.gemini.url, "kling": fakes.kling.url,
            "elevenlabs": fakes.elevenlabs.url, **(base_urls or {})}  # fmt: skip
    await Channel(
        providers=PAID if providers is None else providers, models=models or {},
        base_urls=urls, budget_usd=budget, gemini_credentials=name, kling_credentials=name,
        elevenlabs_credentials=name,
    ).asave(name)  # fmt: skip
    forget_blocks()
    return name


async def drop_paid_channel(name: str) -> None:
    from blocks import Channel, ElevenLabsCredentials, GeminiCredentials, KlingCredentials
    from flows.channels import forget_blocks

    for kind in (Channel, GeminiCredentials, KlingCredentials, ElevenLabsCredentials):
        await kind.adelete(name)
    forget_blocks()
