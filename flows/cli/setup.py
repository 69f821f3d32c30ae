"""``reelflow setup``: register Reelflow's blocks, create its global concurrency limits and
the automation that marks zombie flow runs Crashed.

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
from prefect.automations import Automation, AutomationCore, ChangeFlowRunState, EventTrigger
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.client.schemas.objects import StateType
from prefect.events.schemas.automations import Posture
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL

from flows.bootstrap import LIMITS, Limit
from flows.cli.common import run
from flows.core.errors import ConfigError

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


ZOMBIE_AUTOMATION = "reelflow-crash-zombie-flow-runs"
ZOMBIE_SILENCE = timedelta(
    seconds=90
)  # 3 missed heartbeats at PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30
# Events after which a run rightly stops heartbeating: it ended, or it waits for a review
# (a suspended run's process has exited; it heartbeats again once resumed).
_QUIET_AFTER = ("Completed", "Failed", "Cancelled", "Crashed", "Suspended", "Paused")


def zombie_automation() -> Automation:
    """Prefect's "detect zombie flows" automation, for Reelflow's deployed runs.

    A flow run that sent a heartbeat and then, for 90 s, neither another heartbeat nor a
    state that stops them is set Crashed: a hard-killed worker's run stops holding its
    deployment concurrency slot. Only runs tagged ``reelflow`` (every deployment in
    deployments/*.yaml, whose job environment sets PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30)
    are watched: other runs heartbeat every 180 s by default and would be crashed.
    """
    return Automation(
        name=ZOMBIE_AUTOMATION,
        description="Marks Crashed a Reelflow flow run silent for 90 s (no heartbeat).",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in _QUIET_AFTER)},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={
                "prefect.resource.role": "tag",
                "prefect.resource.id": "prefect.tag.reelflow",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=ZOMBIE_SILENCE,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message="No heartbeat for 90 s: its worker or process died (reelflow setup).",
            )
        ],
    )


def _definition(automation: AutomationCore) -> tuple[object, ...]:
    """What setup owns (not ``enabled``: an operator may pause it). Models compare sets as sets."""
    a = automation
    return (a.description, a.trigger, a.actions, a.actions_on_trigger, a.actions_on_resolve)


async def ensure_zombie_automation() -> str:
    """Create the zombie automation, or update it when it differs; one line."""
    wanted = zombie_automation()
    async with get_client() as client:
        found = await client.read_automations_by_name(ZOMBIE_AUTOMATION)
        for duplicate in found[1:]:
            assert duplicate.id is not None
            await client.delete_automation(duplicate.id)
        extra = f", removed {len(found) - 1} duplicate(s)" if len(found) > 1 else ""
        if not found:
            await client.create_automation(AutomationCore(**wanted.model_dump(exclude={"id"})))
            return f"created automation {ZOMBIE_AUTOMATION} (crash runs silent for 90 s)"
        current = found[0]
        note = "" if current.enabled else " (disabled: enable it in the UI to use it)"
        if _definition(current) == _definition(wanted):
            return f"kept automation {ZOMBIE_AUTOMATION}{note}{extra}"
        assert current.id is not None
        update = wanted.model_dump(exclude={"id", "owner_resource"}) | {"enabled": current.enabled}
        await client.update_automation(current.id, AutomationCore(**update))
        return f"updated automation {ZOMBIE_AUTOMATION}{note}{extra}"


async def _setup(reset: bool) -> list[str]:
    try:
        blocks = await register_blocks()
        return [
            f"registered blocks: {', '.join(blocks)}",
            *await ensure_limits(reset=reset),
            await ensure_zombie_automation(),
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
) -> None:
    """Register Reelflow's blocks, create its concurrency limits and automation (idempotent)."""
    for line in run(_setup(reset)):
        typer.echo(line)
