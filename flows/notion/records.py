"""The Notion board's view of a video, in our database. Data functions take ``*, session``.

A video's card is written by one sync at a time: the one holding the video's lease
(``claim_notion_lease``, held across processes and workers). ``notion_synced_seq`` is the
status sequence number the card shows; it only moves forward, so an older status never
overwrites a newer one. ``NotionBoardState`` remembers, per board, its data source and
until when Notion asked us to wait (a 429's Retry-After).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.models import Channel, NotionBoardState, Video, utcnow
from flows.core.store import insert_ignoring_conflicts

__all__ = [
    "claim_notion_lease",
    "find_video_by_page",
    "get_board_state",
    "list_notion_behind",
    "mark_notion_create_sent",
    "mark_notion_error",
    "mark_notion_synced",
    "release_notion_lease",
]


async def claim_notion_lease(
    *, session: AsyncSession, video_id: int, owner: str, seconds: float
) -> bool:
    """Take (or renew) the right to write the video's card; False while another sync holds it."""
    now = utcnow()
    free = or_(
        Video.notion_lease.is_(None), Video.notion_lease_until < now, Video.notion_lease == owner
    )
    result = await session.execute(
        update(Video)
        .where(Video.id == video_id, free)
        .values(notion_lease=owner, notion_lease_until=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def release_notion_lease(
    *, session: AsyncSession, video_id: int, owner: str, force: bool = False
) -> bool:
    """Give the lease back, unless the board is behind again (then keep it and go on)."""
    where = [Video.id == video_id, Video.notion_lease == owner]
    if not force:
        where.append(Video.notion_synced_seq >= Video.status_seq)
    result = await session.execute(
        update(Video)
        .where(*where)
        .values(notion_lease=None, notion_lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def mark_notion_synced(
    *, session: AsyncSession, video_id: int, seq: int, page_id: str | None = None
) -> None:
    """The card shows the video as of ``seq`` (never moves the mark backwards)."""
    values: dict[Any, Any] = {
        Video.notion_synced_seq: case(
            (Video.notion_synced_seq < seq, seq), else_=Video.notion_synced_seq
        ),
        Video.notion_error: None,
    }
    if page_id is not None:
        values[Video.notion_page_id] = page_id
        values[Video.notion_create_sent_at] = None
    await session.execute(
        update(Video).where(Video.id == video_id).values(values)
        .execution_options(synchronize_session=False)
    )  # fmt: skip


async def mark_notion_create_sent(*, session: AsyncSession, video_id: int) -> datetime:
    """A card create is about to go out: until its page id is recorded, look before creating."""
    now = utcnow()
    await session.execute(
        update(Video).where(Video.id == video_id).values(notion_create_sent_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return now


async def mark_notion_error(*, session: AsyncSession, video_id: int, message: str) -> None:
    """A permanent Notion error: per-change syncs stop for this video until reconcile."""
    await session.execute(
        update(Video).where(Video.id == video_id).values(notion_error=message)
        .execution_options(synchronize_session=False)
    )  # fmt: skip


async def find_video_by_page(*, session: AsyncSession, page_id: str) -> Video | None:
    found = await session.scalars(select(Video).where(Video.notion_page_id == page_id))
    return found.first()


async def list_notion_behind(
    *, session: AsyncSession, channels: list[str], limit: int = 1000
) -> list[tuple[Video, str]]:
    """Videos of these channels whose card is behind their status (oldest first), with
    their channel's name."""
    query = (
        select(Video, Channel.name).join(Channel)
        .where(Channel.name.in_(channels), Video.notion_synced_seq < Video.status_seq)
        .order_by(Video.id).limit(limit)
    )  # fmt: skip
    return [(video, name) for video, name in (await session.execute(query)).all()]


async def get_board_state(*, session: AsyncSession, name: str) -> NotionBoardState:
    """What we know about a board (a new, empty record the first time: an upsert, so two
    processes meeting a new board at once both succeed)."""
    state = await session.get(NotionBoardState, name)
    if state is not None:
        return state
    statement = insert_ignoring_conflicts(session, NotionBoardState).values(
        name=name, updated_at=utcnow()
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
    return await session.get_one(NotionBoardState, name, populate_existing=True)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
