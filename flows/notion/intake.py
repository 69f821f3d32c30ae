"""notion_intake: cards marked "Queued" on a channel's board become videos.

For every channel with a board (or the one given), the board's data source is queried for
cards showing the queued option (every page of results), and each card is taken:

1. a card whose page id a video already has was put back to "Queued" by a person, once its
   card showed the video's newest status and a fresh read of the page still shows "Queued"
   (the video's card lease is held meanwhile, so no sync writes the card). A video that
   stopped (an error, a budget, a crash, a cancellation, a retry scheduled) goes back to
   ``queued``, then "processing", and starts again: the same video, whose finished items
   come back from the cache. A live video (queued, working, at its review) or a final one
   (approved, rejected, expired) is not started: the card says why and shows the video's
   status again. A final video stays final: a new card makes a new video;
2. otherwise its plan comes from the manifest property (a path inside the board's
   ``plan_roots``, or an http(s) URL on one of its ``plan_hosts``, to YAML or JSON: see
   ``flows.notion.plans``), or else from the first JSON/YAML code block of the page; a card
   without a valid plan gets "Manifest Error" and a short reason (never the plan's text) on
   the board, and nothing starts;
3. the video is created with the card's page id, which is UNIQUE in the database: of two
   intakes racing for one card, one creates the video and the other skips the card. A plan
   whose project already has an unfinished video in the channel is refused on the card.
   The video goes to "processing", and so does its card;
4. ``start_videos`` starts produce_video: in the channel's work queue of the produce-video
   deployment when this intake runs in a deployment, as subflows of this run otherwise.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.core import videos
from flows.core.errors import ManifestError, NotionError, StoreError
from flows.core.manifest import Manifest
from flows.core.settings import get_settings
from flows.core.statuses import DONE, ERRORS, INTERRUPTED
from flows.core.store import session_scope
from flows.launch import DEPLOYMENT, StartMode, start_videos
from flows.notion import records
from flows.notion.boards import board_caller, board_map, board_source, channel_boards, load_board
from flows.notion.cards import card_title, plain_text, refusal_properties, status_filter
from flows.notion.client import NotionCaller, list_children, query_all
from flows.notion.plans import (
    fetch_plan,
    manifest_code,
    manifest_from_text,
    manifest_reference,
    plan_roots,
    short_reason,
)
from flows.notion.push import LEASE_SECONDS, log, push_card
from flows.notion.schema import BoardConfig
from flows.planning.cards import plan_card

__all__ = ["notion_intake", "read_queued_cards", "take_card"]

ACTOR = "notion intake"
STOPPED = ERRORS | INTERRUPTED  # what a card put back to "Queued" starts again


@task(name="read-queued-cards", cache_policy=NO_CACHE, persist_result=False)
async def read_queued_cards(board: str, page_size: int = 100) -> list[dict[str, Any]]:
    """Every card on ``board`` showing the queued option (all pages of the query)."""
    config = await load_board(board)
    call = board_caller(config)
    try:
        source = await board_source(call, config, board)
        mapped = await board_map(call, config, board)
        if mapped.status is None:
            return []  # no status property: nothing can be queued (board_map warned)
        queued = status_filter(mapped, "queued")
        return await query_all(call, source, filter=queued, page_size=page_size)
    finally:
        await call.aclose()


@task(name="take-card", task_run_name="card-{card[id]}", cache_policy=NO_CACHE,
      persist_result=False)  # fmt: skip
async def take_card(card: dict[str, Any], channel: str, board: str) -> int | None:
    """The id of the card's video to start (new, or re-queued); None when nothing starts."""
    async with session_scope() as session:
        taken = await records.find_video_by_page(session=session, page_id=card["id"])
    if taken is not None:
        return await _requeue(taken.id, card["id"], board)
    config = await load_board(board)
    call = board_caller(config)
    try:
        try:
            plan, source = await _plan_of(call, config, card, board, channel)
            video_id, why = await _create(channel, plan, source, card["id"])
        except NoPlan as exc:
            if await _queued_is_shared(call, config, board):
                # "queued" shows an option of the board's own (Notion's "Not started"): a card
                # without a plan there is a person's card, not a request; leave it alone.
                log().debug("card %s has no plan; left alone", card["id"])
                return None
            video_id, why = None, short_reason(exc)
        except ManifestError as exc:
            video_id, why = None, short_reason(exc)
        if why is not None:
            await _refuse(call, config, board, card["id"], why)
    finally:
        await call.aclose()
    if video_id is not None:
        await push_card(video_id, board)  # the card shows "Processing"
    return video_id


async def _plan_of(
    call: NotionCaller, board: BoardConfig, card: dict[str, Any], board_name: str, channel: str
) -> tuple[Manifest, str]:
    """The card's plan and where it came from (a path, a URL, the card's code block, or its
    outline or title, planned and written back: flows/planning/cards.py)."""
    mapped = await board_map(call, board, board_name)
    reference = manifest_reference(card, mapped)
    if reference is not None:
        roots = plan_roots(board, get_settings().data_dir)
        return await fetch_plan(reference, board, roots), reference
    blocks = await list_children(call, card["id"])
    code = manifest_code(blocks)
    if code is None:
        topics = not await _queued_is_shared(call, board, board_name)
        title = card_title(card, mapped)
        planned = await plan_card(call, card["id"], title, blocks, channel, topics=topics)
        if planned is not None:
            return planned, f"notion:{card['id']}"
        raise NoPlan(
            f"the card has no plan: put a path or URL in its {board.manifest_property!r} "
            "property, or a JSON or YAML code block in the page"
        )
    source = f"card {card_title(card, mapped) or card['id']!r}"
    return manifest_from_text(code, source=source), f"notion:{card['id']}"


class NoPlan(ManifestError):
    """A queued card that names no plan at all."""


async def _queued_is_shared(call: NotionCaller, board: BoardConfig, board_name: str) -> bool:
    """Whether our "queued" shows as another option of a ``status`` board (one its people
    use for their own cards too)."""
    mapped = await board_map(call, board, board_name)
    return any(status == "queued" for status, _ in mapped.mapped())


async def _refuse(
    call: NotionCaller, board: BoardConfig, board_name: str, page_id: str, why: str,
    status: str = "manifest_error",
) -> None:  # fmt: skip
    """Say on the card why it does not start, showing ``status`` (ours) as its option."""
    log().warning("card %s not started: %s", page_id, why)
    try:
        mapped = await board_map(call, board, board_name)
        properties = refusal_properties(mapped, why, status)
        await call(lambda c: c.pages.update(page_id, properties=properties))
    except NotionError as exc:  # the card stays queued: the next intake says it again
        log().warning("card %s: could not show why: %s", page_id, exc)


async def _create(
    channel: str, plan: Manifest, source: str, page_id: str
) -> tuple[int | None, str | None]:
    """(the new video's id, None); (None, why) when the card cannot start; (None, None) when
    another intake made the card's video first."""
    try:
        async with session_scope() as session:
            video = await videos.create_video(
                session=session, channel=channel, manifest=plan, source=source,
                notion_page_id=page_id, target_s=get_settings().target_seconds,
            )  # fmt: skip
            await videos.set_status(
                session=session, video_id=video.id, status="processing", actor=ACTOR
            )
            return video.id, None
    except StoreError:
        async with session_scope() as session:
            if await records.find_video_by_page(session=session, page_id=page_id):
                return None, None  # the page id is taken: another intake won the card
            other = await videos.find_resumable_video(
                session=session, channel=channel, project_id=plan.project_id
            )
        if other is None:
            raise
        return None, (
            f"channel {channel!r} already has an unfinished video of {plan.project_id!r}: "
            f"video {other.id} ({other.status}): resume or finish it first"
        )


async def _requeue(video_id: int, page_id: str, board: str) -> int | None:
    """A queued card whose video exists: restart the video if it stopped, or say why not.

    The video's card lease is held throughout: a sync that finds it taken leaves its change
    to the ``push_card`` at the end, which also shows a restarted video's "Processing".
    """
    owner = uuid.uuid4().hex
    async with session_scope() as session:
        if not await records.claim_notion_lease(
            session=session, video_id=video_id, owner=owner, seconds=LEASE_SECONDS
        ):
            return None  # a sync is writing the card: it shows the video's status
        video = await videos.get_video(session=session, video_id=video_id)
        current = video.notion_synced_seq >= video.status_seq
    restarted = False
    try:
        if current:  # else our own write of the card is still to come: not a person's doing
            restarted = await _answer(video_id, page_id, board, owner)
    finally:
        async with session_scope() as session:
            await records.release_notion_lease(
                session=session, video_id=video_id, owner=owner, force=True
            )
    await push_card(video_id, board)
    return video_id if restarted else None


async def _answer(video_id: int, page_id: str, board: str, owner: str) -> bool:
    """Whether the video was put back to queued; if not, the card says why."""
    config = await load_board(board)
    call = board_caller(config)
    try:
        page = await call(lambda c: c.pages.retrieve(page_id))
        mapped = await board_map(call, config, board)
        shown = plain_text(page.get("properties", {}).get(mapped.status or ""))
        if shown != mapped.option("queued"):
            return False  # the query's answer was older than our last write of the card
        status = await _restart(video_id, owner)
        if status is not None:
            await _refuse(call, config, board, page_id, _why_not(video_id, status), status)
        return status is None
    finally:
        await call.aclose()


async def _restart(video_id: int, owner: str) -> str | None:
    """Put a stopped video back to queued, then processing (None); else its status."""
    async with session_scope() as session:
        # Renewing the lease writes the video's row first: a concurrent start waits for this
        # transaction (a row lock on PostgreSQL, the write lock on SQLite), so the status
        # read next is the latest.
        await records.claim_notion_lease(
            session=session, video_id=video_id, owner=owner, seconds=LEASE_SECONDS
        )
        video = await videos.get_video(session=session, video_id=video_id, lock=True)
        if video.status not in STOPPED:
            return video.status
        stopped = video.status
        await videos.set_status(
            session=session, video_id=video_id, status="queued", actor=ACTOR,
            detail={"requeued_from": stopped},
        )  # fmt: skip
        await videos.set_status(
            session=session, video_id=video_id, status="processing", actor=ACTOR
        )
    log().info("video %s: re-queued from its card (it was %s)", video_id, stopped)
    return None


def _why_not(video_id: int, status: str) -> str:
    if status in DONE:
        return (
            f"video {video_id} is finished ({status}) and is not made again: "
            "a new card makes a new video"
        )
    if status == "awaiting_review":
        return f"video {video_id} is waiting for its review: approve, reject or request changes"
    return f"video {video_id} is already being produced ({status})"


@flow(name="notion-intake")
async def notion_intake(
    channel: str | None = None,
    deployment: str = DEPLOYMENT,
    page_size: int = 100,
    start: StartMode = "auto",
) -> dict[str, Any]:
    """Start a video for every card marked "Queued" on the channels' boards.

    Args:
        channel: Only this channel's board; default every channel with a board.
        deployment: The produce-video deployment that runs the videos.
        page_size: Cards per query page.
        start: "deployment" runs each video through the deployment, in its channel's work
            queue; "here" as subflows of this run; "auto" picks the deployment when this
            intake runs in one.
    """
    started: list[int] = []
    for name, board in (await channel_boards(channel)).items():
        for card in await read_queued_cards(board, page_size):
            video_id = await take_card(card, name, board)
            if video_id is not None:
                started.append(video_id)
    get_run_logger().info("intake: %d card(s) started: videos %s", len(started), started)
    runs = await start_videos(started, mode=start, deployment=deployment)
    return {"started": started, "runs": runs}


if __name__ == "__main__":
    asyncio.run(notion_intake())
