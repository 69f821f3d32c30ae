"""Later, not never: the retry policy, and the videos a scheduled recovery picks up.

A transient failure that outlives an item's own retries (a provider down for an hour) does
not end the video: it goes ``retry_scheduled`` with the time of its next attempt, backing
off exponentially (``RetryPolicy``), until it succeeds or its failures have lasted longer
than the policy's maximum age; then it becomes the step's error status for good. A video
whose run died (``crashed``) is started again at most ``max_recoveries`` times. The
``recover`` flow (``flows/recover.py``) does both on a schedule; the cache makes a re-run
free for every finished item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.models import Video, utcnow
from flows.core.runs import holder_is_dead
from flows.core.statuses import LIVE, check_transition
from flows.core.videos import get_video, record_event

__all__ = [
    "RetryPolicy",
    "crashed_videos",
    "dead_runs",
    "due_retries",
    "plan_retry",
    "take_for_recovery",
]


@dataclass(frozen=True)
class RetryPolicy:
    """When a video that failed transiently is tried again, and when we give up."""

    retry_later: bool = True
    base_s: float = 300.0  # the first retry after 5 minutes, then 10, 20, …
    max_delay_s: float = 4 * 3600.0
    max_age_s: float = 24 * 3600.0  # give up once failures have lasted a day
    max_recoveries: int = 3  # crashed runs started again at most this often

    def next_attempt(
        self, *, attempts: int, first_failed_at: datetime | None, now: datetime
    ) -> datetime | None:
        """When to try again after ``attempts`` automatic tries; None to give up."""
        if not self.retry_later:
            return None
        start = first_failed_at or now
        delay = min(self.base_s * 2 ** max(attempts, 0), self.max_delay_s)
        when = now + timedelta(seconds=delay)
        if (when - start).total_seconds() > self.max_age_s:
            return None
        return when


async def plan_retry(
    *, session: AsyncSession, video_id: int, policy: RetryPolicy, now: datetime | None = None
) -> datetime | None:
    """Record the streak of failures and return the next attempt's time (None: give up)."""
    now = now or utcnow()
    video = await get_video(session=session, video_id=video_id, lock=True)
    first = video.first_failed_at or now
    when = policy.next_attempt(attempts=video.attempts, first_failed_at=first, now=now)
    video.first_failed_at = first
    video.next_attempt_at = when
    return when


async def dead_runs(*, session: AsyncSession, now: datetime | None = None) -> list[Video]:
    """Videos a run was working on whose run is dead: its lease has passed, or its process
    on this host is gone."""
    query = select(Video).where(Video.status.in_(LIVE), Video.run_lease.is_not(None))
    held = (await session.scalars(query.order_by(Video.id))).all()
    now = now or utcnow()
    return [v for v in held if (v.run_lease_until and v.run_lease_until < now) or holder_is_dead(v)]


async def due_retries(*, session: AsyncSession, now: datetime | None = None) -> list[Video]:
    """Videos whose scheduled retry is due."""
    query = select(Video).where(
        Video.status == "retry_scheduled",
        Video.next_attempt_at <= (now or utcnow()),
    )
    return list((await session.scalars(query.order_by(Video.next_attempt_at))).all())


async def crashed_videos(*, session: AsyncSession) -> list[Video]:
    query = select(Video).where(Video.status == "crashed").order_by(Video.id)
    return list((await session.scalars(query)).all())


async def take_for_recovery(
    *, session: AsyncSession, video_id: int, expected: str, actor: str = "recover"
) -> Video | None:
    """Move the video from ``expected`` to ``queued`` and count the attempt; None when
    someone else took it first (one atomic UPDATE: two recoveries never start it twice)."""
    check_transition(expected, "queued", video_id=video_id)
    result = await session.execute(
        update(Video)
        .where(Video.id == video_id, Video.status == expected, Video.run_lease.is_(None))
        .values(status="queued", error=None, attempts=Video.attempts + 1, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount == 0:
        return None
    video = await get_video(session=session, video_id=video_id)
    await session.refresh(video)
    await record_event(
        session=session, video=video, kind="status", status="queued", actor=actor,
        detail={"from": expected, "attempt": video.attempts},
    )  # fmt: skip
    return video
