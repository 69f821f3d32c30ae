"""The Prefect automations Reelflow relies on, and making them idempotently (by name).

- ``reelflow-crash-zombie-flow-runs``: a run silent for 90 s (no heartbeat) is Crashed.
- the reviewers' nudges (``reelflow setup --notify``) are in ``flows/review/notify.py``;
  ``ensure_automation`` makes them like this one.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.automations import Automation, AutomationCore, ChangeFlowRunState, EventTrigger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.schemas.automations import Posture

__all__ = ["ZOMBIE_AUTOMATION", "ensure_automation", "zombie_automation"]

ZOMBIE_AUTOMATION = "reelflow-crash-zombie-flow-runs"
ZOMBIE_SILENCE = timedelta(seconds=90)  # 3 missed heartbeats at a 30 s heartbeat frequency

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


async def ensure_automation(wanted: Automation) -> str:
    """Create ``wanted``, or update the automation of its name when it differs; one line."""
    name = wanted.name
    async with get_client() as client:
        found = await client.read_automations_by_name(name)
        for duplicate in found[1:]:
            assert duplicate.id is not None
            await client.delete_automation(duplicate.id)
        extra = f", removed {len(found) - 1} duplicate(s)" if len(found) > 1 else ""
        if not found:
            await client.create_automation(AutomationCore(**wanted.model_dump(exclude={"id"})))
            return f"created automation {name} ({wanted.description})"
        current = found[0]
        note = "" if current.enabled else " (disabled: enable it in the UI to use it)"
        if _definition(current) == _definition(wanted):
            return f"kept automation {name}{note}{extra}"
        assert current.id is not None
        update = wanted.model_dump(exclude={"id", "owner_resource"}) | {"enabled": current.enabled}
        await client.update_automation(current.id, AutomationCore(**update))
        return f"updated automation {name}{note}{extra}"
