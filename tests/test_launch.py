"""start_videos and channel_queue: runs through a deployment land in their channel's queue,
whose limit follows the channel's; runs here are produced at once and reported each."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

from blocks import Channel
from flows.core.errors import ConfigError
from flows.core.settings import Settings
from flows.launch import channel_queue, start_videos
from tests.factories import open_video

pytestmark = pytest.mark.usefixtures("prefect_api")


@dataclass
class Deployed:
    """A produce-video deployment on the test server: ``name`` is "flow/deployment"."""

    name: str
    id: UUID
    pool: str


@contextlib.asynccontextmanager
async def deployed_produce_video() -> AsyncIterator[Deployed]:
    """A produce-video deployment in a fresh process pool with no worker (its runs wait);
    the runs, the deployment and the pool (with its queues) are deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    pool = f"pool-{suffix}"
    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        flow_id = await client.create_flow_from_name("produce-video")
        deployment_id = await client.create_deployment(
            flow_id=flow_id, name=f"launch-{suffix}", work_pool_name=pool,
            entrypoint="flows/pipeline.py:produce_video",
        )  # fmt: skip
    try:
        yield Deployed(name=f"produce-video/launch-{suffix}", id=deployment_id, pool=pool)
    finally:
        async with get_client() as client:
            mine = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            for run in await client.read_flow_runs(deployment_filter=mine):
                await client.delete_flow_run(run.id)
            await client.delete_deployment(deployment_id)
            await client.delete_work_pool(pool)


@pytest.fixture
async def produce_deployment() -> AsyncIterator[Deployed]:
    async with deployed_produce_video() as deployed:
        yield deployed


@pytest.fixture
async def channel_block() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Saves a Channel block (a fresh name, or ``name`` again to change it); all deleted after."""
    made: set[str] = set()

    async def save(name: str | None = None, **fields: Any) -> str:
        name = name or f"lc-{uuid.uuid4().hex[:8]}"
        await Channel(**fields).asave(name, overwrite=True)
        made.add(name)
        return name

    yield save
    for name in made:
        with contextlib.suppress(ValueError):
            await Channel.adelete(name)


async def queue_limit(pool: str, name: str) -> int | None:
    async with get_client() as client:
        return (await client.read_work_queue_by_name(name, work_pool_name=pool)).concurrency_limit


async def test_the_channel_queue_is_made_with_the_channel_limit_and_follows_its_changes(
    produce_deployment: Deployed, channel_block: Callable[..., Awaitable[str]]
) -> None:
    pool = produce_deployment.pool
    name = await channel_block(max_concurrent_videos=2)

    assert await channel_queue(produce_deployment.name, name) == f"channel-{name}"
    assert await queue_limit(pool, f"channel-{name}") == 2
    await channel_block(name, max_concurrent_videos=4)
    assert await channel_queue(produce_deployment.name, name) == f"channel-{name}"
    assert await queue_limit(pool, f"channel-{name}") == 4, "a changed limit reaches the queue"
    await channel_block(name, max_concurrent_videos=1)
    await channel_queue(produce_deployment.name, name)
    assert await queue_limit(pool, f"channel-{name}") == 1


async def test_a_channel_without_a_block_gets_one_video_at_a_time_and_its_queue_is_kept(
    produce_deployment: Deployed,
) -> None:
    name = f"nb-{uuid.uuid4().hex[:8]}"
    queue = await channel_queue(produce_deployment.name, name)
    assert await queue_limit(produce_deployment.pool, queue) == 1
    async with get_client() as client:
        made = await client.read_work_queue_by_name(queue, work_pool_name=produce_deployment.pool)
        await client.update_work_queue(made.id, concurrency_limit=5)
    await channel_queue(produce_deployment.name, name)
    assert await queue_limit(produce_deployment.pool, queue) == 5, "no channel limit to apply"


async def test_two_starts_at_once_make_the_channel_queue_once(
    produce_deployment: Deployed, channel_block: Callable[..., Awaitable[str]]
) -> None:
    name = await channel_block(max_concurrent_videos=3)
    made = await asyncio.gather(*(channel_queue(produce_deployment.name, name) for _ in range(3)))
    assert made == [f"channel-{name}"] * 3
    assert await queue_limit(produce_deployment.pool, f"channel-{name}") == 3


async def test_a_missing_deployment_is_named(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"no deployment 'produce-video/nowhere' on this"):
        await channel_queue("produce-video/nowhere", "history")


async def test_started_through_the_deployment_each_video_runs_in_its_channel_queue(
    settings: Settings, produce_deployment: Deployed,
    channel_block: Callable[..., Awaitable[str]],
) -> None:  # fmt: skip
    limited = await channel_block(max_concurrent_videos=2)
    plain = f"nb-{uuid.uuid4().hex[:8]}"
    first, second = await open_video(channel=limited), await open_video(channel=plain)

    runs = await start_videos(
        [first, second, first], mode="deployment", deployment=produce_deployment.name,
        budget_usd=2.5,
    )  # fmt: skip

    assert list(runs) == [first, second], "each video once, in order"
    async with get_client() as client:
        made = {v: await client.read_flow_run(UUID(run_id)) for v, run_id in runs.items()}
    assert made[first].work_queue_name == f"channel-{limited}"
    assert made[second].work_queue_name == f"channel-{plain}"
    for video_id, run in made.items():
        assert run.deployment_id == produce_deployment.id
        assert run.parameters == {"video_id": video_id, "budget_usd": 2.5}
    assert await queue_limit(produce_deployment.pool, f"channel-{limited}") == 2
    assert await start_videos([], mode="deployment", deployment="produce-video/nowhere") == {}


async def test_started_here_the_videos_run_at_once_and_each_outcome_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    both_running = asyncio.Barrier(2)
    calls: list[tuple[int, float | None]] = []

    async def produce_video(video_id: int, budget_usd: float | None = None) -> dict[str, Any]:
        calls.append((video_id, budget_usd))
        await asyncio.wait_for(both_running.wait(), timeout=10)  # fails unless concurrent
        if video_id == 2:
            raise RuntimeError("the storm scene failed")
        return {"video_id": video_id}

    monkeypatch.setattr("flows.pipeline.produce_video", produce_video)

    assert await start_videos([1, 2], mode="here", budget_usd=4.0) == {
        1: "finished", 2: "failed",
    }  # fmt: skip
    assert sorted(calls) == [(1, 4.0), (2, 4.0)]
    calls.clear()  # the barrier is cyclic: the next two pass it together again
    outside_a_deployment = await start_videos([3, 1])  # "auto", outside a deployed run
    assert outside_a_deployment == {3: "finished", 1: "finished"} and len(calls) == 2
