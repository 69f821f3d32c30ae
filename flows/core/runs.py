"""The live run of a video, and what a dead run leaves behind. Data functions, ``*, session``.

One live run per video, across processes and machines: the run holding a video holds a
lease on its row (``run_lease``, ``run_lease_until``), taken with one atomic UPDATE and
renewed while the run is alive. A run that dies without a word (SIGKILL, a lost machine)
stops renewing; once its lease has passed, ``reap_dead_runs`` marks its video ``crashed``
and closes the script executions it left ``running``, and the video may be taken again.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.errors import NotFoundError, VideoBusy
from flows.core.models import ScriptExecution, Video, utcnow

__all__ = [
    "busy_with",
    "claim_run",
    "close_executions",
    "holder_is_dead",
    "process_holder",
    "release_run",
    "renew_run",
    "videos_of_run",
]


async def claim_run(*, session: AsyncSession, video_id: int, holder: str, lease_s: float) -> Video:
    """Take the video for the run ``holder`` (a flow run id) for ``lease_s`` seconds.

    One atomic UPDATE, so of two runs racing exactly one wins, on SQLite and PostgreSQL.
    The run holding it renews the lease while alive (``renew_run``); a lease past its time,
    or held by a process of this host that no longer exists, belongs to a dead run and may
    be taken. A video waiting at a suspended run's review gate belongs to that run (answer
    it, or ``reelflow submit --video ID --replace``).
    Raises VideoBusy naming the run that holds it and since when.
    """
    now = utcnow()
    free = or_(
        Video.run_lease.is_(None),
        Video.run_lease == holder,
        Video.run_lease_until < now,
        # taken by this very process for the flow it now runs (``process_holder``)
        and_(Video.run_lease == process_holder(), Video.run_host == socket.gethostname()),
    )
    if await _take(session, video_id, holder, lease_s, now, free):
        return await _fresh(session, video_id)
    video = await _fresh(session, video_id)
    stale = video.run_lease is not None and _dead_here(video.run_host, video.run_pid)
    if stale and await _take(
        session, video_id, holder, lease_s, now, Video.run_lease == video.run_lease
    ):
        return await _fresh(session, video_id)
    busy = video.run_lease or video.flow_run_id or "?"
    since = video.run_started_at or video.updated_at
    raise VideoBusy(
        video_id=video_id,
        holder=busy,
        since=since.isoformat(timespec="seconds") if since else None,
    )


async def _take(
    session: AsyncSession, video_id: int, holder: str, lease_s: float, now: datetime,
    free: ColumnElement[bool],
) -> bool:  # fmt: skip
    gate_free = or_(
        Video.status != "awaiting_review",
        Video.flow_run_id.is_(None),
        Video.flow_run_id == holder,
        Video.run_lease.is_not(None),  # a local (paused) gate: its lease decides
    )
    result = await session.execute(
        update(Video)
        .where(Video.id == video_id, free, gate_free)
        .values(
            run_lease=holder,
            run_lease_until=now + timedelta(seconds=lease_s),
            run_started_at=case((Video.run_lease == holder, Video.run_started_at), else_=now),
            run_host=socket.gethostname(),
            run_pid=os.getpid(),
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount > 0


def process_holder() -> str:
    """The holder name a command uses to take a video for the flow it is about to run in
    this process: the flow's own claim takes it over; if the process dies first, the video
    is reaped like any dead run's."""
    return f"process-{os.getpid()}"


def busy_with(video: Video, holder: str | None = None) -> VideoBusy | None:
    """Why ``claim_run`` would refuse ``video`` to ``holder`` now (for a message), or None.
    Only the claim itself decides: two runs may both see the video free."""
    now = utcnow()
    held = video.run_lease is not None and video.run_lease != holder
    alive = held and (video.run_lease_until or now) >= now and not holder_is_dead(video)
    gate = (
        video.status == "awaiting_review"
        and video.run_lease is None
        and video.flow_run_id is not None
        and video.flow_run_id != holder
    )
    if not (alive or gate):
        return None
    since = video.run_started_at or video.updated_at
    return VideoBusy(
        video_id=video.id,
        holder=video.run_lease or video.flow_run_id or "?",
        since=since.isoformat(timespec="seconds") if since else None,
    )


def holder_is_dead(video: Video) -> bool:
    """Whether the run holding ``video`` was a process of this host that has exited."""
    return video.run_lease is not None and _dead_here(video.run_host, video.run_pid)


def _dead_here(host: str | None, pid: int | None) -> bool:
    """Whether the holder was a process of this host that has exited."""
    if host != socket.gethostname() or not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


async def renew_run(*, session: AsyncSession, video_id: int, holder: str, lease_s: float) -> bool:
    """Extend ``holder``'s lease; False when it no longer holds the video."""
    result = await session.execute(
        update(Video)
        .where(Video.id == video_id, Video.run_lease == holder)
        .values(run_lease_until=utcnow() + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount > 0


async def release_run(*, session: AsyncSession, video_id: int, holder: str) -> None:
    """Let go of the video (the run ended, or suspended at its gate)."""
    await session.execute(
        update(Video)
        .where(Video.id == video_id, Video.run_lease == holder)
        .values(run_lease=None, run_lease_until=None, run_pid=None)
        .execution_options(synchronize_session=False)
    )


async def _fresh(session: AsyncSession, video_id: int) -> Video:
    query = select(Video).where(Video.id == video_id).execution_options(populate_existing=True)
    video = await session.scalar(query)
    if video is None:
        raise NotFoundError(f"no video {video_id}")
    return video


async def close_executions(
    *, session: AsyncSession, status: str, error: str, flow_run_id: str | None = None,
    video_id: int | None = None, started_before: datetime | None = None,
) -> int:  # fmt: skip
    """Mark ``status`` the executions a dead run left ``running``; how many there were."""
    query = update(ScriptExecution).where(ScriptExecution.status == "running")
    if flow_run_id is not None:
        query = query.where(ScriptExecution.flow_run_id == flow_run_id)
    if video_id is not None:
        query = query.where(ScriptExecution.video_id == video_id)
    if started_before is not None:
        query = query.where(ScriptExecution.started_at < started_before)
    result = await session.execute(
        query.values(status=status, error=error, completed_at=utcnow()).execution_options(
            synchronize_session=False
        )
    )
    return cast(CursorResult[Any], result).rowcount


async def videos_of_run(*, session: AsyncSession, flow_run_id: str) -> list[Video]:
    """The videos ``flow_run_id`` holds or last worked on."""
    query = select(Video).where(
        or_(Video.run_lease == flow_run_id, Video.flow_run_id == flow_run_id)
    )
    return list((await session.scalars(query.order_by(Video.id))).all())
