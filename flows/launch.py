"""start_videos: the one way to start produce-video runs, and each channel's work queue.

A video starts either through the produce-video deployment, in its channel's own work queue
(``channel-<name>`` in the deployment's pool, limited to the channel's
``max_concurrent_videos``, so one channel's videos never hold back another's), or here, in
this process (a subflow when called from a flow). ``reelflow submit``, the Notion intake and
recover start their videos through ``start_videos``; every run gets only a video id (and a
budget), so a video started again resumes: its finished items come back from the cache.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import WorkQueueFilter, WorkQueueFilterName
from prefect.context import FlowRunContext
from prefect.deployments import arun_deployment
from prefect.exceptions import MissingContextError, ObjectAlreadyExists, ObjectNotFound

from blocks import Channel
from flows.core import videos
from flows.core.errors import ConfigError
from flows.core.store import session_scope

__all__ = [
    "DEPLOYMENT",
    "StartMode",
    "channel_queue",
    "ensure_deployment",
    "queue_name",
    "resolve_mode",
    "start_videos",
    "update_channel_queues",
]

DEPLOYMENT = "produce-video/produce-video"
DEFAULT_LIMIT = 1  # a channel without a block: one video at a time (the block's default)
StartMode = Literal["auto", "deployment", "here"]


def queue_name(channel: str) -> str:
    """The name of the channel's work queue."""
    return f"channel-{channel}"


async def start_videos(
    video_ids: list[int],
    *,
    mode: StartMode = "auto",
    deployment: str = DEPLOYMENT,
    budget_usd: float | None = None,
) -> dict[int, str]:
    """Start produce_video for each video: video id → its flow run id, or how it ended here.

    Args:
        video_ids: The videos to start (each once, in this order).
        mode: "deployment" creates a run of ``deployment`` per video in the video's channel
            queue and returns at once; "here" produces them in this process, all at once,
            and returns "finished" or "failed" for each; "auto" picks the deployment when
            called inside a deployed flow run, else "here".
        deployment: The produce-video deployment ("flow name/deployment name").
        budget_usd: This run's spending cap per video; default the video's or channel's.
    """
    video_ids = list(dict.fromkeys(video_ids))
    if not video_ids:
        return {}
    mode = resolve_mode(mode)
    if mode == "deployment":
        return await _deployed(video_ids, deployment, budget_usd)
    return await _here(video_ids, budget_usd)


def resolve_mode(mode: StartMode) -> StartMode:
    """ "auto" is "deployment" inside a deployed flow run, else "here"."""
    if mode != "auto":
        return mode
    return "deployment" if _in_deployment() else "here"


async def ensure_deployment(
    deployment: str, *, instead: str = "produce here: reelflow recover --here"
) -> None:
    """Raise ConfigError (one line) unless ``deployment`` exists on the Prefect server:
    check before taking videos to start, so none is taken and then left unstarted."""
    async with get_client() as client:
        try:
            await client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            raise ConfigError(
                f"no deployment {deployment!r} on the Prefect server at {client.api_url}: "
                "create it with `prefect --no-prompt deploy --all` from the project root "
                f"(see README, Deploying), or {instead}"
            ) from None


def _in_deployment() -> bool:
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


async def _deployed(
    video_ids: list[int], deployment: str, budget_usd: float | None
) -> dict[int, str]:
    async with session_scope() as session:
        channels = {}
        for video_id in video_ids:
            video = await videos.get_video(session=session, video_id=video_id)
            channels[video_id] = await videos.channel_name(session=session, video=video)
    queues = {name: await channel_queue(deployment, name) for name in set(channels.values())}
    runs = {}
    for video_id in video_ids:
        parameters: dict[str, Any] = {"video_id": video_id}
        if budget_usd is not None:
            parameters["budget_usd"] = budget_usd
        run = await arun_deployment(
            name=deployment, parameters=parameters, timeout=0,
            work_queue_name=queues[channels[video_id]],
        )  # fmt: skip
        runs[video_id] = str(run.id)
    _log().info("started %d video(s) through %s: %s", len(runs), deployment, runs)
    return runs


async def _here(video_ids: list[int], budget_usd: float | None) -> dict[int, str]:
    from flows.pipeline import produce_video  # here only: queue work needs no pipeline

    results = await asyncio.gather(
        *(produce_video(video_id=video_id, budget_usd=budget_usd) for video_id in video_ids),
        return_exceptions=True,
    )
    outcomes = {}
    for video_id, result in zip(video_ids, results, strict=True):
        if isinstance(result, Exception):
            _log().warning("video %s failed: %s", video_id, result)
        elif isinstance(result, BaseException):  # a cancellation or an interrupt: not ours
            raise result
        outcomes[video_id] = "failed" if isinstance(result, Exception) else "finished"
    return outcomes


async def channel_queue(deployment: str, channel: str) -> str | None:
    """The channel's work queue in the deployment's pool, made or brought to the channel's
    limit: a change to the channel's ``max_concurrent_videos`` reaches its queue here.

    The Channel block is read fresh (not from the one-minute cache). A channel without a
    block gets a queue of one video at a time; an existing queue of it is left as it is.
    None for a deployment without a work pool (served by a runner): it has no queues.
    """
    name = queue_name(channel)
    limit = await _channel_limit(channel)
    async with get_client() as client:
        try:
            target = await client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            raise ConfigError(
                f"no deployment {deployment!r} on this Prefect server: run `prefect deploy --all`"
            ) from None
        pool = target.work_pool_name
        if not pool:  # served by a runner (flow.serve), not a pool: it has no queues
            _log().warning(
                "deployment %s has no work pool: channel %s's videos are not queued apart",
                deployment, channel,
            )  # fmt: skip
            return None
        try:
            queue = await client.read_work_queue_by_name(name, work_pool_name=pool)
        except ObjectNotFound:
            try:
                await client.create_work_queue(
                    name, work_pool_name=pool, concurrency_limit=limit or DEFAULT_LIMIT
                )
                return name
            except ObjectAlreadyExists:  # another start made it just now
                queue = await client.read_work_queue_by_name(name, work_pool_name=pool)
        if limit is not None and queue.concurrency_limit != limit:
            await client.update_work_queue(queue.id, concurrency_limit=limit)
            _log().info(
                "work queue %s (pool %s): %s → %s videos at once",
                name, pool, queue.concurrency_limit, limit,
            )  # fmt: skip
    return name


async def update_channel_queues(channel: str, limit: int) -> list[str]:
    """Bring the channel's queue in every pool to ``limit``; one line per queue changed."""
    wanted = WorkQueueFilter(name=WorkQueueFilterName(any_=[queue_name(channel)]))
    changed = []
    async with get_client() as client:
        for queue in await client.read_work_queues(work_queue_filter=wanted):
            if queue.concurrency_limit == limit:
                continue
            await client.update_work_queue(queue.id, concurrency_limit=limit)
            changed.append(
                f"work queue {queue.name!r} (pool {queue.work_pool_name!r}): "
                f"{queue.concurrency_limit} → {limit} videos at once"
            )
    return changed


async def _channel_limit(channel: str) -> int | None:
    """The channel block's ``max_concurrent_videos``; None without a block."""
    try:
        block: Any = await Channel.aload(channel)
    except ValueError:
        return None
    return block.max_concurrent_videos if isinstance(block, Channel) else None


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("reelflow.launch")
