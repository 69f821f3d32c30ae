"""Videos, their steps and their history. Data functions take ``*, session``.

Every status change bumps the video's ``status_seq`` and appends an event, so anything that
mirrors the status elsewhere (the Notion board) can tell newer from older.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.errors import NotFoundError, StatusError, StoreError
from flows.core.manifest import Manifest
from flows.core.models import Channel, Video, VideoEvent, utcnow
from flows.core.settings import get_settings
from flows.core.statuses import DONE, check_transition
from flows.core.store import insert_ignoring_conflicts

__all__ = [
    "FINAL_STATUSES",
    "attach_run",
    "create_video",
    "find_resumable_video",
    "get_or_create_channel",
    "get_video",
    "list_events",
    "list_videos",
    "mark_finished",
    "mark_started",
    "open_video",
    "record_event",
    "set_status",
]

FINAL_STATUSES = DONE  # decided: nobody makes these any more (approved and after)
_log = logging.getLogger("reelflow.videos")


async def get_or_create_channel(*, session: AsyncSession, name: str) -> Channel:
    """The channel's row, created if missing: an upsert, so first runs racing never fail."""
    channel = await session.scalar(select(Channel).where(Channel.name == name))
    if channel is not None:
        return channel
    statement = insert_ignoring_conflicts(session, Channel).values(name=name, created_at=utcnow())
    await session.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
    return (await session.scalars(select(Channel).where(Channel.name == name))).one()


def active_key(channel_id: int, project_id: str) -> str:
    """The key an unfinished video holds (UNIQUE): one per channel and project."""
    return f"{channel_id}:{project_id}"


async def create_video(
    *,
    session: AsyncSession,
    channel: str,
    manifest: Manifest,
    source: str | None = None,
    budget_usd: float | None = None,
    target_s: float | None = None,
    notion_page_id: str | None = None,
) -> Video:
    video = await _insert_video(
        session=session, channel=channel, manifest=manifest, source=source,
        budget_usd=budget_usd, target_s=target_s, notion_page_id=notion_page_id,
    )  # fmt: skip
    if video is None:
        existing = await find_resumable_video(
            session=session, channel=channel, project_id=manifest.project_id
        )
        which = f" (video {existing.id})" if existing else ""
        raise StoreError(
            f"channel {channel!r} already has an unfinished video of {manifest.project_id!r}"
            f"{which}: resume it, or finish it first"
        )
    return video


async def _insert_video(
    *,
    session: AsyncSession,
    channel: str,
    manifest: Manifest,
    source: str | None,
    budget_usd: float | None,
    target_s: float | None,
    notion_page_id: str | None,
) -> Video | None:
    """A new queued video, or None when the plan's project already has an unfinished one."""
    owner = await get_or_create_channel(session=session, name=channel)
    now = utcnow()
    values = {
        "channel_id": owner.id,
        "active_key": active_key(owner.id, manifest.project_id),
        "project_id": manifest.project_id,
        "title": manifest.title,
        "manifest": manifest.model_dump(mode="json"),
        "manifest_source": source,
        "status": "queued",
        "budget_usd": budget_usd if budget_usd is not None else manifest.budget_usd,
        "target_s": target_s if target_s is not None else get_settings().target_seconds,
        "notion_page_id": notion_page_id,
        "step_completion": {},
        "created_at": now,
        "updated_at": now,
    }
    statement = (
        insert_ignoring_conflicts(session, Video)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["active_key"])
        .returning(Video.id)
    )
    video_id = await session.scalar(statement)
    if video_id is None:
        return None
    video = await get_video(session=session, video_id=video_id)
    await record_event(session=session, video=video, kind="status", status="queued")
    return video


async def open_video(
    *,
    session: AsyncSession,
    channel: str,
    manifest: Manifest,
    source: str | None = None,
    budget_usd: float | None = None,
    target_s: float | None = None,
) -> Video:
    """Resume the unfinished video of this channel and project, or create one.

    A resumed video takes the new plan; when it differs, the change is recorded. Two
    callers racing get the same video: the unfinished one holds a UNIQUE key, so the
    loser's insert fails and it takes the winner's video instead.
    """
    video = await find_resumable_video(
        session=session, channel=channel, project_id=manifest.project_id
    )
    if video is None:
        video = await _insert_video(
            session=session, channel=channel, manifest=manifest, source=source,
            budget_usd=budget_usd, target_s=target_s, notion_page_id=None,
        )  # fmt: skip
        if video is not None:
            return video
        video = await find_resumable_video(
            session=session, channel=channel, project_id=manifest.project_id
        )
        if video is None:  # pragma: no cover - the winner finished it in between
            raise StoreError(f"could not open a video of {manifest.project_id!r}: try again")
    plan = manifest.model_dump(mode="json")
    if plan != video.manifest:
        changed = [
            new["id"] for new in plan["scenes"] if new not in video.manifest.get("scenes", [])
        ]
        video.manifest, video.title = plan, manifest.title
        await record_event(
            session=session, video=video, kind="plan_changed", detail={"scenes": changed}
        )
    if source is not None:
        video.manifest_source = source
    if budget_usd is not None:
        video.budget_usd = budget_usd
    return video


async def find_resumable_video(
    *, session: AsyncSession, channel: str, project_id: str
) -> Video | None:
    """The newest unfinished video of this channel and project, to resume instead of repeat."""
    found = await session.scalars(
        select(Video)
        .join(Channel)
        .where(
            Channel.name == channel,
            Video.project_id == project_id,
            Video.status.not_in(FINAL_STATUSES),
        )
        .order_by(Video.id.desc())
        .limit(1)
    )
    return found.first()


async def get_video(*, session: AsyncSession, video_id: int, lock: bool = False) -> Video:
    query = select(Video).where(Video.id == video_id)
    video = await session.scalar(query.with_for_update() if lock else query)
    if video is None:
        raise NotFoundError(f"no video {video_id}")
    return video


async def channel_name(*, session: AsyncSession, video: Video) -> str:
    channel = await session.get(Channel, video.channel_id)
    return channel.name if channel else "?"


async def list_videos(
    *,
    session: AsyncSession,
    channel: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[tuple[Video, str]]:
    """Newest first, with each video's channel name."""
    query = select(Video, Channel.name).join(Channel).order_by(Video.id.desc())
    if channel is not None:
        query = query.where(Channel.name == channel)
    if status is not None:
        query = query.where(Video.status == status)
    rows = await session.execute(query.limit(limit).offset(offset))
    return [(video, name) for video, name in rows.all()]


async def set_status(
    *,
    session: AsyncSession,
    video_id: int,
    status: str,
    error: str | None = None,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Video:
    """Move a video to ``status`` (clearing or setting its error), bump its sequence, log it.

    The move must be one the state machine allows (``flows.core.statuses``); anything else
    raises StatusError and is logged. A done status (``approved`` and after, rejected,
    expired) frees the plan for a new video.
    """
    video = await get_video(session=session, video_id=video_id, lock=True)
    try:
        check_transition(video.status, status, video_id=video_id)
    except StatusError as exc:
        _log.warning("refused: %s", exc)
        raise
    video.status = status
    video.error = error
    if status in DONE:
        video.active_key = None
    await record_event(
        session=session,
        video=video,
        kind="status",
        status=status,
        actor=actor,
        detail={**(detail or {}), **({"error": error} if error else {})},
    )
    return video


async def record_event(
    *,
    session: AsyncSession,
    video: Video,
    kind: str,
    status: str | None = None,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> VideoEvent:
    video.status_seq += 1
    event = VideoEvent(
        video_id=video.id,
        seq=video.status_seq,
        kind=kind,
        status=status,
        actor=actor,
        detail=detail or {},
    )
    session.add(event)
    await session.flush()
    return event


async def attach_run(*, session: AsyncSession, video_id: int, flow_run_id: str | None) -> Video:
    """The flow run now working on the video (the one a review resumes)."""
    video = await get_video(session=session, video_id=video_id)
    video.flow_run_id = flow_run_id
    return video


async def mark_started(*, session: AsyncSession, video_id: int) -> Video:
    video = await get_video(session=session, video_id=video_id)
    video.started_at = video.started_at or utcnow()
    video.completed_at = None
    return video


async def mark_finished(
    *, session: AsyncSession, video_id: int, output_path: str | None = None
) -> Video:
    """Record the end of the pipeline: end time, duration, and whether it passed its target.

    Made it: the streak of failures and automatic attempts starts again from zero.
    """
    video = await get_video(session=session, video_id=video_id)
    video.attempts, video.first_failed_at, video.next_attempt_at = 0, None, None
    video.completed_at = utcnow()
    if output_path is not None:
        video.output_path = output_path
    start = video.started_at or video.completed_at
    video.duration_s = (video.completed_at - start).total_seconds()
    video.over_target = video.duration_s > video.target_s
    return video


async def next_review_round(*, session: AsyncSession, video_id: int) -> int:
    """A decision was applied: the next review of this video is a new round."""
    video = await get_video(session=session, video_id=video_id, lock=True)
    video.review_round += 1
    return video.review_round


async def replace_plan(
    *,
    session: AsyncSession,
    video_id: int,
    manifest: Manifest,
    actor: str | None,
    changes: list[dict[str, Any]],
) -> Video:
    """Store a plan changed at review, with who asked for what."""
    video = await get_video(session=session, video_id=video_id, lock=True)
    video.manifest = manifest.model_dump(mode="json")
    video.title = manifest.title
    await record_event(
        session=session, video=video, kind="changes_requested", actor=actor,
        detail={"changes": changes, "round": video.review_round},
    )  # fmt: skip
    return video


async def list_events(*, session: AsyncSession, video_id: int) -> list[VideoEvent]:
    query = select(VideoEvent).where(VideoEvent.video_id == video_id).order_by(VideoEvent.seq)
    return list((await session.scalars(query)).all())
