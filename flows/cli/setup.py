"""``reelflow setup``: register Reelflow's blocks, create its global concurrency limits, the
automation that marks zombie flow runs Crashed and, with ``--notify``, the ones that tell
reviewers (``flows/review/notify.py``).

The limits and block types are also made on first use when missing (``flows.bootstrap``,
same values): ``setup`` is needed for the automation and to tune or reset the limits.

Idempotent: blocks are registered again harmlessly, a limit that exists is kept as it is
(someone may have tuned it) unless ``--reset`` puts back the values below, and the
automation (found by name) is updated only when its definition differs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.core import Block
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL

from flows.automations import ZOMBIE_AUTOMATION, ensure_automation, zombie_automation
from flows.bootstrap import LIMITS, Limit
from flows.cli.common import run
from flows.core.errors import ConfigError
from flows.review.notify import reminder_automation, review_automation

__all__ = [
    "LIMITS",
    "ZOMBIE_AUTOMATION",
    "Limit",
    "ensure_limits",
    "ensure_zombie_automation",
    "register_blocks",
    "setup_command",
    "zombie_automation",
]


async def register_blocks() -> list[str]:
    """Register every Reelflow block type with the Prefect API; returns their slugs."""
    from blocks import (
        Channel,
        ElevenLabsCredentials,
        GeminiCredentials,
        KlingCredentials,
        NotionBoard,
        YouTubeCredentials,
    )

    kinds = (Channel, NotionBoard, GeminiCredentials, KlingCredentials, ElevenLabsCredentials,
             YouTubeCredentials)  # fmt: skip
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


async def ensure_zombie_automation() -> str:
    return await ensure_automation(zombie_automation())


async def ensure_review_notifications(block: str, remind_after_hours: float) -> list[str]:
    """The automations telling reviewers through ``block`` (``type-slug/name``)."""
    try:
        notifier = await Block.aload(block)
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"--notify {block!r}: no such block ({exc}); give a notification block as "
            "TYPE/NAME, e.g. slack-webhook/reviewers (see `prefect block ls`)"
        ) from None
    if not isinstance(notifier, NotificationBlock):
        raise ConfigError(f"--notify {block!r} is a {type(notifier).__name__}, not a "
                          "notification block (Slack, Teams, email, custom webhook…)")  # fmt: skip
    block_id = getattr(notifier, "_block_document_id", None)
    assert block_id is not None
    lines = [await ensure_automation(review_automation(block_id))]
    if remind_after_hours > 0:
        remind = timedelta(hours=remind_after_hours)
        lines.append(await ensure_automation(reminder_automation(block_id, remind)))
    return lines


async def _setup(reset: bool, notify: str | None, remind_after_hours: float) -> list[str]:
    try:
        blocks = await register_blocks()
        return [
            f"registered blocks: {', '.join(blocks)}",
            *await ensure_limits(reset=reset),
            await ensure_zombie_automation(),
            *(await ensure_review_notifications(notify, remind_after_hours) if notify else []),
        ]
    except PrefectHTTPStatusError as exc:
        status = exc.response.status_code
        if status not in (401, 403):
            raise
        raise ConfigError(
            f"the Prefect API at {PREFECT_API_URL.value()} refused Reelflow ({status}): set "
            "PREFECT_API_AUTH_STRING to the server's auth string (PREFECT_API_KEY on Cloud)"
        ) from None


def setup_command(
    reset: Annotated[
        bool, typer.Option(help="Put changed limits back to Reelflow's values.")
    ] = False,
    notify: Annotated[
        str | None,
        typer.Option(
            metavar="TYPE/NAME",
            help="A Prefect notification block (e.g. slack-webhook/reviewers) told when a "
            "video waits for review, with links to decide and to watch.",
        ),
    ] = None,
    remind_after_hours: Annotated[
        float,
        typer.Option(
            min=0, help="With --notify: remind when a review still waits this long (0: never)."
        ),
    ] = 24.0,
) -> None:
    """Register Reelflow's blocks, create its concurrency limits and automations (idempotent)."""
    for line in run(_setup(reset, notify, remind_after_hours)):
        typer.echo(line)
