"""A video's step runs: one per run of a step, with items done/cached/total, time and cost.

Data functions take ``*, session``. Each also keeps the video's ``step_completion`` (what
``reelflow status`` and the board show) in step with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.models import StepRun, utcnow
from flows.core.videos import get_video

__all__ = ["begin_step", "finish_step", "list_step_runs", "step_progress"]


async def begin_step(
    *, session: AsyncSession, video_id: int, step: str, items_total: int, flow_run_id: str | None
) -> int:
    run = StepRun(video_id=video_id, step=step, items_total=items_total, flow_run_id=flow_run_id)
    session.add(run)
    await session.flush()
    await _completion(session, video_id, step, done=0, total=items_total, status="running")
    return run.id


async def step_progress(
    *, session: AsyncSession, step_run_id: int, items_done: int, items_cached: int, cost_usd: float
) -> None:
    """Items finished so far in a running step, on the step run and on its video."""
    run = await session.get_one(StepRun, step_run_id)
    run.items_done, run.items_cached, run.cost_usd = items_done, items_cached, cost_usd
    await _completion(
        session, run.video_id, run.step, done=items_done, total=run.items_total, status="running"
    )


async def finish_step(
    *,
    session: AsyncSession,
    step_run_id: int,
    status: str,
    items_done: int,
    items_cached: int,
    cost_usd: float,
    error: str | None = None,
) -> StepRun:
    """Close a step run and add what it spent to its video's cost."""
    run = await session.get_one(StepRun, step_run_id)
    now = utcnow()
    run.status, run.error, run.completed_at = status, error, now
    run.items_done, run.items_cached, run.cost_usd = items_done, items_cached, cost_usd
    run.duration_s = (now - _aware(run.started_at)).total_seconds()
    video = await get_video(session=session, video_id=run.video_id)
    video.cost_usd = round(video.cost_usd + cost_usd, 6)
    await _completion(
        session, run.video_id, run.step, done=items_done, total=run.items_total, status=status
    )
    return run


async def _completion(
    session: AsyncSession, video_id: int, step: str, *, done: int, total: int, status: str
) -> None:
    video = await get_video(session=session, video_id=video_id)
    video.step_completion = {
        **video.step_completion,
        step: {"done": done, "total": total, "status": status},
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


async def list_step_runs(*, session: AsyncSession, video_id: int) -> list[StepRun]:
    query = select(StepRun).where(StepRun.video_id == video_id).order_by(StepRun.id)
    return list((await session.scalars(query)).all())
