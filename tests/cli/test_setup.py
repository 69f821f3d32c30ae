"""``reelflow setup``: blocks, global concurrency limits and the zombie automation, idempotently."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from uuid import UUID

import pytest
from prefect import flow
from prefect.automations import AutomationCore, ChangeFlowRunState, EventTrigger
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import State, StateType
from prefect.events import Event
from prefect.events.clients import get_events_client
from prefect.events.schemas.automations import Automation, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectNotFound
from prefect.states import Running
from typer.testing import CliRunner

from flows.cli.main import app
from flows.cli.setup import ZOMBIE_AUTOMATION, zombie_automation

pytestmark = pytest.mark.usefixtures("prefect_api")

runner = CliRunner()


async def _limits() -> dict[str, tuple[int, float]]:
    async with get_client() as client:
        found = await client.read_global_concurrency_limits(limit=200)
        return {gcl.name: (gcl.limit, gcl.slot_decay_per_second) for gcl in found}


async def _drop(name: str) -> None:
    async with get_client() as client:
        with contextlib.suppress(ObjectNotFound):
            await client.delete_global_concurrency_limit_by_name(name)


def test_setup_creates_what_is_missing_and_keeps_what_exists() -> None:
    asyncio.run(_drop("provider-kling"))
    first = runner.invoke(app, ["setup"])
    assert first.exit_code == 0, first.output
    assert "registered blocks: reelflow-channel, reelflow-notion-board" in first.stdout
    assert "created provider-kling (limit 3)" in first.stdout
    limits = asyncio.run(_limits())
    assert limits["notion-api"] == (1, 3.0)
    assert {"provider-gemini", "provider-kling", "provider-elevenlabs"} <= set(limits)
    second = runner.invoke(app, ["setup"])
    assert second.exit_code == 0 and "created" not in second.stdout
    assert "kept notion-api (limit 1, 3 slot(s)/s decay)" in second.stdout


async def _automations(name: str = ZOMBIE_AUTOMATION) -> list[Automation]:
    async with get_client() as client:
        return await client.read_automations_by_name(name)


async def _replace_with_a_changed_copy() -> None:
    async with get_client() as client:
        for found in await client.read_automations_by_name(ZOMBIE_AUTOMATION):
            assert found.id is not None
            await client.delete_automation(found.id)
        changed = zombie_automation()
        changed.trigger = changed.trigger.model_copy(update={"within": timedelta(seconds=600)})
        for _ in range(2):  # and a duplicate of it
            await client.create_automation(AutomationCore(**changed.model_dump(exclude={"id"})))


def test_setup_creates_the_zombie_automation_once_and_repairs_a_changed_one() -> None:
    asyncio.run(_replace_with_a_changed_copy())
    repaired = runner.invoke(app, ["setup"])
    assert repaired.exit_code == 0, repaired.output
    assert f"updated automation {ZOMBIE_AUTOMATION}, removed 1 duplicate(s)" in repaired.stdout
    again = runner.invoke(app, ["setup"])
    assert f"kept automation {ZOMBIE_AUTOMATION}" in again.stdout, again.output
    [automation] = asyncio.run(_automations())
    trigger = automation.trigger
    assert isinstance(trigger, EventTrigger) and trigger.posture == Posture.Proactive
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    assert {"prefect.flow-run.heartbeat", "prefect.flow-run.Suspended"} <= trigger.expect
    assert trigger.for_each == {"prefect.resource.id"}
    assert trigger.within == timedelta(seconds=90) and trigger.threshold == 1
    [action] = automation.actions
    assert isinstance(action, ChangeFlowRunState) and action.state == StateType.CRASHED


async def test_the_server_crashes_a_reelflow_run_that_stops_heartbeating() -> None:
    """The same trigger with Prefect's shortest window (10 s), on two Running flow runs that
    each send one heartbeat: the tagged one is crashed, the untagged one is left alone."""

    @flow
    def stand_in() -> None: ...

    async with get_client() as client:
        ours = await client.create_flow_run(stand_in, tags=["reelflow"], state=Running())
        other = await client.create_flow_run(stand_in, state=Running())
        ids = [f"prefect.flow-run.{ours.id}", f"prefect.flow-run.{other.id}"]
        probe = zombie_automation()
        probe.name = f"test-zombie-{ours.id}"
        probe.trigger = probe.trigger.model_copy(
            update={
                "within": timedelta(seconds=10),
                "match": ResourceSpecification({"prefect.resource.id": ids}),
            }
        )
        automation_id = await client.create_automation(
            AutomationCore(**probe.model_dump(exclude={"id"}))
        )
        tag = {"prefect.resource.id": "prefect.tag.reelflow", "prefect.resource.role": "tag"}
        try:
            await _wait_until_the_server_evaluates(client, created_after=probe.name)
            async with get_events_client() as events:
                for resource_id, related in ((ids[0], [tag]), (ids[1], [])):
                    await events.emit(
                        Event(
                            event="prefect.flow-run.heartbeat",
                            resource={"prefect.resource.id": resource_id},
                            related=related,
                        )
                    )
            crashed = await _wait_for_state(client, ours.id, StateType.CRASHED, timeout=60)
            await asyncio.sleep(6)  # one more evaluation pass (every 5 s) for the other run
            untouched = (await client.read_flow_run(other.id)).state
        finally:
            await client.delete_automation(automation_id)
    assert crashed.type == StateType.CRASHED, f"still {crashed.name} 60 s after its heartbeat"
    assert "No heartbeat for 90 s" in (crashed.message or "")
    assert untouched is not None and untouched.type == StateType.RUNNING


async def _wait_until_the_server_evaluates(client: PrefectClient, created_after: str) -> None:
    """Wait until the server's trigger service has loaded the automations made so far.

    It learns of a new automation asynchronously (PostgreSQL NOTIFY, or its 5-s reconcile):
    an event sent right after ``create_automation`` can be evaluated before the automation
    is loaded, and a proactive trigger that missed its ``after`` event never fires. So a
    sentinel automation, created after the one under test, changes a throwaway flow run's
    state when it sees a ping; once it acts, everything created before it is loaded too.
    """

    @flow
    def sentinel_run() -> None: ...

    target = await client.create_flow_run(sentinel_run, state=Running())
    resource = f"prefect.flow-run.{target.id}"
    sentinel = AutomationCore(
        name=f"sentinel-after-{created_after}",
        trigger=EventTrigger(
            expect={"reelflow.test.ping"},
            match={"prefect.resource.id": resource},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[ChangeFlowRunState(state=StateType.COMPLETED, force=True)],
    )
    sentinel_id = await client.create_automation(sentinel)
    try:
        deadline = time.monotonic() + 60
        async with get_events_client() as events:
            while True:
                await events.emit(
                    Event(event="reelflow.test.ping", resource={"prefect.resource.id": resource})
                )
                state = await _wait_for_state(client, target.id, StateType.COMPLETED, timeout=2)
                if state.type == StateType.COMPLETED:
                    return
                assert time.monotonic() < deadline, "the server never loaded a new automation"
    finally:
        await client.delete_automation(sentinel_id)


async def _wait_for_state(
    client: PrefectClient, flow_run_id: UUID, wanted: StateType, timeout: float
) -> State:
    deadline = time.monotonic() + timeout
    while True:
        state = (await client.read_flow_run(flow_run_id)).state
        assert state is not None
        if state.type == wanted or time.monotonic() > deadline:
            return state
        await asyncio.sleep(1)
