"""recover: nothing stuck, failures tried again later. Deployed every few minutes.

Each pass, in order:

1. **Reap.** A video a run was working on whose run is dead (its hold on the video has run
   out, or its process on this host is gone: SIGKILL, a lost machine) becomes ``crashed``,
   and the script executions that run left ``running`` are closed. Runs that end by a
   signal or a cancellation say so themselves (the flow's hooks); this catches the rest.
2. **Recover.** A ``crashed`` video is started again, at most ``max_recoveries`` times
   (per channel; the cache makes a re-run free for every finished item).
3. **Retry.** A ``retry_scheduled`` video whose time has come is started again.

Videos are started through ``flows.launch.start_videos``: in their channel's work queue of
the produce-video deployment when this runs deployed, in this process otherwise.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from flows.channels import resolve_channel
from flows.core import recovery, runs, videos
from flows.core.models import Video, utcnow
from flows.core.registry import load_registry
from flows.core.settings import get_settings
from flows.core.statuses import after_crash
from flows.core.store import session_scope
from flows.launch import (
    DEPLOYMENT,
    StartMode,
    ensure_deployment,
    resolve_mode,
    start_videos,
)
from flows.notion.sync import submit_sync
from flows.status import change_status

__all__ = ["reap_dead_runs", "recover", "take_recoverable"]


async def reap_dead_runs(now: datetime | None = None) -> list[int]:
    """Mark ``crashed`` the videos whose run is dead; close what it left running."""
    now = now or utcnow()
    async with session_scope() as session:
        dead = await recovery.dead_runs(session=session, now=now)
    reaped = []
    for video in dead:
        holder, until = video.run_lease or "?", video.run_lease_until
        reason = f"its run {holder} stopped without a word (alive until {_at(until)})"
        status = after_crash(video.status, "crashed")  # publishing: publish_waiting
        await change_status(video.id, status, error=reason, actor="recover")
        async with session_scope() as session:
            await runs.close_executions(
                session=session, video_id=video.id, status="crashed", error=reason
            )
            await runs.release_run(session=session, video_id=video.id, holder=holder)
        reaped.append(video.id)
    async with session_scope() as session:  # executions of runs that had no video
        await runs.close_executions(
            session=session, status="crashed", error="its run died",
            started_before=now - _longest_run(),
        )  # fmt: skip
    return reaped


async def take_recoverable(now: datetime | None = None) -> dict[str, list[int]]:
    """Take (set ``queued``, count the attempt) every video to start again now."""
    now = now or utcnow()
    async with session_scope() as session:
        crashed = await recovery.crashed_videos(session=session)
        due = await recovery.due_retries(session=session, now=now)
        names = {v.id: await videos.channel_name(session=session, video=v) for v in crashed}
    taken: dict[str, list[int]] = {"crashed": [], "retry_scheduled": [], "gave_up": []}
    for video in crashed:
        policy = (await resolve_channel(names[video.id])).retry
        if video.attempts >= policy.max_recoveries:
            taken["gave_up"].append(video.id)
            continue
        if await _take(video, "crashed"):
            taken["crashed"].append(video.id)
    for video in due:
        if await _take(video, "retry_scheduled"):
            taken["retry_scheduled"].append(video.id)
    return taken


async def _take(video: Video, expected: str) -> bool:
    async with session_scope() as session:
        taken = await recovery.take_for_recovery(
            session=session, video_id=video.id, expected=expected
        )
    if taken is not None:
        await submit_sync(taken.id, taken.status_seq)
    return taken is not None


@flow(name="recover")
async def recover(start: StartMode = "auto", deployment: str = DEPLOYMENT) -> dict[str, Any]:
    """Reap dead runs, start crashed videos again and retry the ones whose time has come.

    Args:
        start: "deployment" starts each video in its channel's queue of ``deployment``,
            "here" produces them in this run; "auto" picks the deployment when deployed.
        deployment: The produce-video deployment.
    """
    logger = get_run_logger()
    start = resolve_mode(start)
    if start == "deployment":
        await ensure_deployment(deployment)  # before taking any video
    reaped = await reap_dead_runs()
    taken = await take_recoverable()
    if reaped or any(taken.values()):
        logger.info("reaped %s; taken %s", reaped, taken)
    to_start = taken["crashed"] + taken["retry_scheduled"]
    started = await start_videos(to_start, mode=start, deployment=deployment)
    return {"reaped": reaped, **taken, "runs": {str(k): v for k, v in started.items()}}


def _longest_run() -> timedelta:
    """How long a script may run at most (its timeout and kill grace), with room."""
    settings = get_settings()
    timeouts = [s.timeout for s in load_registry(settings.scripts_dir).scripts.values()]
    longest = max(timeouts, default=3600.0) + 2 * settings.kill_grace_seconds
    return timedelta(seconds=longest + settings.run_lease_seconds)


def _at(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else "?"


if __name__ == "__main__":
    asyncio.run(recover())
