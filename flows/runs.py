"""One live run per video, and nothing left stuck when a run dies.

``holding_video`` takes the video for this flow run (``flows.core.runs.claim_run``: one
atomic UPDATE, so a second run of the same plan, anywhere, gets VideoBusy naming the run
and since when), renews the hold while the run is alive and lets go when it ends or
suspends at its gate. The flow's hooks record how a run that did not finish ended:
``crashed`` (SIGTERM, Ctrl-C, an unexpected error) or ``cancelled``, with the reason, and
close the script executions it left running. A run killed without a word (SIGKILL, a lost
machine) runs no hook: it stops renewing its hold, and the ``recover`` flow reaps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from prefect.client.schemas.objects import FlowRun, State

from flows.core import runs
from flows.core.errors import ReelflowError
from flows.core.settings import get_settings
from flows.core.statuses import LIVE, after_crash
from flows.core.store import session_scope
from flows.status import change_status

__all__ = ["holding_video", "on_cancelled", "on_crashed", "on_failed", "stop_run"]

_log = logging.getLogger("reelflow.runs")


@contextlib.asynccontextmanager
async def holding_video(video_id: int, holder: str) -> AsyncIterator[None]:
    """Hold ``video_id`` for the run ``holder`` while the block runs (VideoBusy if taken)."""
    lease = get_settings().run_lease_seconds
    async with session_scope() as session:
        await runs.claim_run(session=session, video_id=video_id, holder=holder, lease_s=lease)
    keeper = asyncio.create_task(_keep(video_id, holder, lease))
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        with contextlib.suppress(ReelflowError):  # a dead database: the lease runs out
            async with session_scope() as session:
                await runs.release_run(session=session, video_id=video_id, holder=holder)


async def _keep(video_id: int, holder: str, lease: float) -> None:
    while True:
        await asyncio.sleep(lease / 3)
        try:
            async with session_scope() as session:
                held = await runs.renew_run(
                    session=session, video_id=video_id, holder=holder, lease_s=lease
                )
        except ReelflowError as exc:  # try again next time; the lease has room for two misses
            _log.warning("video %s: could not renew this run's hold: %s", video_id, exc)
            continue
        if not held:  # let go, taken over by the flow it started, or reaped as dead
            _log.debug("video %s: %s no longer holds it", video_id, holder)
            return


async def stop_run(flow_run_id: str, status: str, reason: str) -> list[int]:
    """Mark ``status`` every video ``flow_run_id`` was working on, close its executions
    left running, and let go of its videos. The videos marked."""
    async with session_scope() as session:
        held = await runs.videos_of_run(session=session, flow_run_id=flow_run_id)
    marked = []
    for video in held:
        if video.status in LIVE:
            await change_status(
                video.id, after_crash(video.status, status), error=reason,
                detail={"flow_run": flow_run_id},
            )  # fmt: skip
            marked.append(video.id)
    async with session_scope() as session:
        await runs.close_executions(
            session=session, flow_run_id=flow_run_id, status=status, error=reason
        )
        for video in held:
            await runs.release_run(session=session, video_id=video.id, holder=flow_run_id)
    return marked


def _reason(state: State[Any], default: str) -> str:
    message = (state.message or "").strip().splitlines()
    return (message[0][:300] if message else "") or default


async def on_crashed(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
    """Flow hook: the run crashed (SIGTERM, Ctrl-C, its infrastructure failed)."""
    await _hook(flow_run, "crashed", _reason(state, "the run crashed"))


async def on_cancelled(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
    """Flow hook: someone cancelled the run."""
    await _hook(flow_run, "cancelled", _reason(state, "the run was cancelled"))


async def on_failed(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
    """Flow hook: the run failed. A step failure already set its status; anything else
    (an unexpected error) must not leave the video in a working status."""
    await _hook(flow_run, "crashed", _reason(state, "the run failed"))


async def _hook(flow_run: FlowRun, status: str, reason: str) -> None:
    try:
        marked = await stop_run(str(flow_run.id), status, reason)
    except Exception as exc:  # a hook must never raise; recover reaps what is left
        _log.warning("flow run %s: could not record %s: %s", flow_run.id, status, exc)
        return
    if marked:
        _log.warning("flow run %s %s: videos %s (%s)", flow_run.id, status, marked, reason)
