"""``reelflow setup``: register Reelflow's blocks and create its global concurrency limits.

Idempotent: blocks are registered again harmlessly, and a limit that exists is kept as it is
(someone may have tuned it) unless ``--reset`` puts back the values below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.exceptions import ObjectNotFound

from flows.cli.common import run
from flows.notion_boards import NOTION_LIMIT, NOTION_RATE

__all__ = ["LIMITS", "Limit", "ensure_limits", "register_blocks", "setup_command"]


@dataclass(frozen=True)
class Limit:
    """A Prefect global concurrency limit the project uses."""

    name: str
    limit: int
    slot_decay_per_second: float
    purpose: str

    def describe(self) -> str:
        decay = (
            f", {self.slot_decay_per_second:g} slot(s)/s decay"
            if self.slot_decay_per_second
            else ""
        )
        return f"limit {self.limit}{decay}"


LIMITS = (
    # One slot that frees three times a second: at most 3 requests in ANY one-second window
    # across every run and worker. A limit of 3 with the same decay admits a burst of 3 on
    # top of the refill, up to 5 requests in one second (measured; see bench/notion_sync.py).
    Limit(NOTION_LIMIT, 1, NOTION_RATE, "every request to Notion: at most 3 a second, no burst"),
    Limit("provider-gemini", 4, 0.0, "Gemini image requests in flight"),
    Limit("provider-kling", 3, 0.0, "Kling clip tasks in flight (the account's task quota)"),
    Limit("provider-elevenlabs", 5, 0.0, "ElevenLabs requests in flight (Creator tier: 5)"),
)


async def register_blocks() -> list[str]:
    """Register every Reelflow block type with the Prefect API; returns their slugs."""
    from blocks import (
        Channel,
        ElevenLabsCredentials,
        GeminiCredentials,
        KlingCredentials,
        NotionBoard,
    )

    kinds = (Channel, NotionBoard, GeminiCredentials, KlingCredentials, ElevenLabsCredentials)
    for kind in kinds:
        await kind.aregister_type_and_schema()
    return [kind.get_block_type_slug() for kind in kinds]


async def ensure_limits(*, reset: bool = False) -> list[str]:
    """Create the missing limits (and with ``reset`` restore changed ones); one line each."""
    lines = []
    async with get_client() as client:
        for wanted in LIMITS:
            try:
                found = await client.read_global_concurrency_limit_by_name(wanted.name)
            except ObjectNotFound:
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=wanted.name, limit=wanted.limit,
                        slot_decay_per_second=wanted.slot_decay_per_second,
                    )
                )  # fmt: skip
                lines.append(f"created {wanted.name} ({wanted.describe()}): {wanted.purpose}")
                continue
            same = (found.limit, found.slot_decay_per_second or 0.0) == (
                wanted.limit, wanted.slot_decay_per_second,
            )  # fmt: skip
            if same or not reset:
                now = Limit(found.name, found.limit, found.slot_decay_per_second or 0.0, "")
                note = "" if same else f" (Reelflow's default: {wanted.describe()}; --reset)"
                lines.append(f"kept {wanted.name} ({now.describe()}){note}")
                continue
            await client.update_global_concurrency_limit(
                wanted.name,
                GlobalConcurrencyLimitUpdate(
                    limit=wanted.limit, slot_decay_per_second=wanted.slot_decay_per_second,
                    active=True,
                ),
            )  # fmt: skip
            lines.append(f"reset {wanted.name} ({wanted.describe()})")
    return lines


async def _setup(reset: bool) -> list[str]:
    blocks = await register_blocks()
    return [f"registered blocks: {', '.join(blocks)}", *await ensure_limits(reset=reset)]


def setup_command(
    reset: Annotated[
        bool, typer.Option(help="Put changed limits back to Reelflow's values.")
    ] = False,
) -> None:
    """Register Reelflow's blocks and create its global concurrency limits (idempotent)."""
    for line in run(_setup(reset)):
        typer.echo(line)
