"""One video's card: written with the video's newest state, by one writer at a time.

``push_card`` takes the video's lease (``videos.notion_lease``, in our database, so it holds
across processes and workers), then loops: read the video, write its state (creating the
card the first time, or finding the one a timed-out create made), mark ``notion_synced_seq``,
and read again. It gives the lease back only when the card shows the newest ``status_seq``
(a conditional update), so a change made meanwhile, whose own sync found the lease taken and
returned, is written by the holder. Writes of one card are at least ``WRITE_INTERVAL`` apart:
whatever changes in between goes out in the next write. The mark only moves forward, so an
older status never overwrites a newer one.

Only what the board has is written (``boards.board_map``, from the board's own schema); a
write refused with a 400 validation_error (a property renamed or removed meanwhile) reads the
schema again and is tried once more with what exists then.

Never two cards for one video: a create goes out only after ``notion_create_sent_at`` is
recorded; until the page id is recorded too, the next writer looks for the card first: by
the ``Video ID`` property when the board has one, else by its title among the pages created
since then that no other video owns.

What Notion answers is recorded: a 429 blocks the board until its Retry-After has passed
(``notion_boards.blocked_until``: later syncs and reconcile leave it alone until then); a
permanent error goes to ``videos.notion_error``, logged once in one line naming the board and
what to do, and this video's syncs stop until reconcile; a transient one (after the caller's
retries) leaves the card behind.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, timedelta
from typing import Any

from flows.core import videos
from flows.core.errors import NotionError, ReelflowError, is_transient
from flows.core.models import Video, utcnow
from flows.core.reviews import last_decision
from flows.core.store import session_scope
from flows.media.keys import media_link
from flows.notion import records
from flows.notion.boards import (
    board_caller,
    board_map,
    board_source,
    forget_schema,
    load_board,
    log,
)
from flows.notion.cards import CardState, card_properties
from flows.notion.client import NotionCaller, NotionRateLimited, backoff, query_all
from flows.notion.provision import explain
from flows.notion.schema import BoardConfig, BoardMap
from flows.review.links import review_link

__all__ = ["log", "push_card", "review_link"]

LEASE_SECONDS = 60.0  # longer than one write with its retries can take
WRITE_INTERVAL = 2.0  # seconds between two writes of one card: what changes meanwhile is merged


async def push_card(
    video_id: int, board_name: str, *, stop: threading.Event | None = None,
    retry_errors: bool = False,
) -> str:  # fmt: skip
    """Write the video's newest state to its card until the card is current.

    Returns what happened: "synced", "coalesced" (another sync holds the lease and will
    write this change), "blocked" (the board asked us to wait), "behind" (gave up on a
    transient error or was stopped), or "failed" (a permanent error, recorded).
    """
    owner = uuid.uuid4().hex
    async with session_scope() as session:
        if not await records.claim_notion_lease(
            session=session, video_id=video_id, owner=owner, seconds=LEASE_SECONDS
        ):
            return "coalesced"
    try:
        board = await load_board(board_name)
    except ReelflowError as exc:
        error = NotionError(str(exc), status=0, code="no_board", transient=False)
        return await _failed(video_id, owner, board_name, error)
    call = board_caller(board, stop)
    try:
        return await _push_until_current(video_id, board_name, board, owner, call, retry_errors)
    finally:
        await call.aclose()


async def _push_until_current(
    video_id: int, board_name: str, board: BoardConfig, owner: str, call: NotionCaller,
    retry_errors: bool,
) -> str:  # fmt: skip
    written, landed = 0.0, None
    while True:
        video, blocked, done = await _next(video_id, board_name, owner, landed)
        if done is not None:
            return done
        if video.notion_error and not retry_errors:
            return await _give_up(video_id, owner, "failed")
        if blocked or call.stopped():
            return await _give_up(video_id, owner, "blocked" if blocked else "behind")
        pause = written + WRITE_INTERVAL - time.monotonic()
        if pause > 0:  # changes arriving meanwhile go out together, in one write
            await asyncio.sleep(pause)
            landed = None
            continue
        try:
            landed = (video.status_seq, await _write_card(call, board, board_name, video))
        except NotionError as exc:
            return await _failed(video_id, owner, board_name, exc, board.database_id)
        written, retry_errors = time.monotonic(), True  # the video's error is behind us


async def _next(
    video_id: int, board_name: str, owner: str, landed: tuple[int, str] | None
) -> tuple[Video, bool, str | None]:
    """Record what was just written, then read the video: (it, board blocked, outcome if done).

    One transaction: the mark, the read, and giving the lease back when the card is current
    (or renewing it when not).
    """
    async with session_scope() as session:
        if landed is not None:
            await records.mark_notion_synced(
                session=session, video_id=video_id, seq=landed[0], page_id=landed[1]
            )
        video = await videos.get_video(session=session, video_id=video_id)
        state = await records.get_board_state(session=session, name=board_name)
        blocked = state.blocked_until is not None and state.blocked_until > utcnow()
        if video.notion_synced_seq >= video.status_seq:
            if await records.release_notion_lease(session=session, video_id=video_id, owner=owner):
                return video, blocked, "synced"
            await session.refresh(video)  # a newer status came in after we read it
        if not await records.claim_notion_lease(
            session=session, video_id=video_id, owner=owner, seconds=LEASE_SECONDS
        ):
            return video, blocked, "coalesced"  # ours expired and another sync took over
    return video, blocked, None


async def _card(video: Video, board: BoardConfig) -> CardState:
    async with session_scope() as session:
        channel = await videos.channel_name(session=session, video=video)
        decision = None
        if video.review_round > 0:
            decision = last_decision(await videos.list_events(session=session, video_id=video.id))
    return CardState(
        video_id=video.id, seq=video.status_seq, title=video.title, status=video.status,
        error=video.error, cost_usd=video.cost_usd, duration_s=video.duration_s,
        output=video.public_url or await media_link(video.output_path),  # published: its URL
        review=review_link(video.flow_run_id),
        channel=channel, updated=utcnow().isoformat(timespec="seconds"),
        manifest=video.manifest_source, decision=decision,
    )  # fmt: skip


async def _write_card(call: NotionCaller, board: BoardConfig, board_name: str, video: Video) -> str:
    """Write the card with what the board has; once more with a fresh schema if refused."""
    state = await _card(video, board)
    for attempt in (1, 2):
        mapped = await board_map(call, board, board_name)
        try:
            return await _write(call, board, board_name, video, card_properties(state, mapped))
        except NotionError as exc:
            if attempt == 2 or getattr(exc, "code", "") != "validation_error":
                raise
            forget_schema(board_name)  # renamed or removed meanwhile: read it again
    raise AssertionError("unreachable")


async def _write(
    call: NotionCaller, board: BoardConfig, board_name: str, video: Video,
    properties: dict[str, Any],
) -> str:  # fmt: skip
    """Update the video's card, or make it: once, even when a create's answer is lost."""
    page_id = video.notion_page_id
    if page_id is None:
        source = await board_source(call, board, board_name)
        mapped = await board_map(call, board, board_name)
        return await _create_card(call, mapped, source, video, properties)
    await call(lambda c: c.pages.update(page_id, properties=properties))
    return page_id


async def _create_card(
    call: NotionCaller, board: BoardMap, source: str, video: Video, properties: dict[str, Any]
) -> str:
    """Create the card, never blindly twice: after a create whose answer was lost (a 5xx, a
    timeout, a crash), look for the card before creating again."""
    parent = {"data_source_id": source}
    sent = video.notion_create_sent_at
    attempt = 0
    while True:
        if sent is not None:
            found = await _find_card(call, board, source, video, sent)
            if found is not None:
                return found
        async with session_scope() as session:
            sent = await records.mark_notion_create_sent(session=session, video_id=video.id)
        try:
            page = await call(
                lambda c: c.pages.create(parent=parent, properties=properties), retry=False
            )
            return str(page["id"])
        except NotionError as exc:
            attempt += 1
            retry = is_transient(exc) and not isinstance(exc, NotionRateLimited)
            if not retry or attempt >= call.policy.attempts:
                raise
        await asyncio.sleep(backoff(attempt - 1, call.policy))


async def _find_card(
    call: NotionCaller, board: BoardMap, source: str, video: Video, sent: Any
) -> str | None:
    """A card already made for this video (a create whose answer was lost may have landed):
    by its Video ID, else by its title among pages made since ``sent`` that no video owns."""
    if "video_id" in board.properties:
        name, kind = board.properties["video_id"]
        value = video.id if kind == "number" else str(video.id)
        wanted: dict[str, Any] = {"property": name, kind: {"equals": value}}
        rows = await query_all(call, source, filter=wanted, page_size=10)
        return str(rows[0]["id"]) if rows else None
    if board.title is None:
        return None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    since = (sent - timedelta(minutes=2)).replace(second=0, microsecond=0)  # Notion: minutes
    wanted = {"and": [
        {"property": board.title, "title": {"equals": video.title or f"Video {video.id}"}},
        {"timestamp": "created_time", "created_time": {"on_or_after": since.isoformat()}},
    ]}  # fmt: skip
    rows = await query_all(call, source, filter=wanted, page_size=100)
    async with session_scope() as session:
        for row in sorted(rows, key=lambda r: str(r.get("created_time", ""))):
            owner = await records.find_video_by_page(session=session, page_id=str(row["id"]))
            if owner is None or owner.id == video.id:
                return str(row["id"])
    return None


async def _failed(
    video_id: int, owner: str, board_name: str, error: NotionError, database: str | None = None
) -> str:
    """Record what Notion said: when the board may be written again, or a permanent error."""
    what_to_do = explain(error, database) if database else str(error)
    if isinstance(error, NotionRateLimited):
        until = utcnow() + timedelta(seconds=error.retry_after)
        async with session_scope() as session:
            state = await records.get_board_state(session=session, name=board_name)
            state.blocked_until, state.last_error = until, str(error)
        log().warning("board %s: rate limited until %s", board_name, until.isoformat())
        return await _give_up(video_id, owner, "blocked")
    if is_transient(error):
        log().info("video %s: board not updated yet: %s", video_id, error)
        return await _give_up(video_id, owner, "behind")
    async with session_scope() as session:
        await records.mark_notion_error(session=session, video_id=video_id, message=str(error))
    log().warning(
        "video %s: board %s refused its card: %s; then `reelflow notion reconcile`",
        video_id, board_name, what_to_do,
    )  # fmt: skip
    return await _give_up(video_id, owner, "failed")


async def _give_up(video_id: int, owner: str, outcome: str) -> str:
    async with session_scope() as session:
        await records.release_notion_lease(
            session=session, video_id=video_id, owner=owner, force=True
        )
    return outcome
