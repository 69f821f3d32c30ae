"""notion_intake: cards marked "Queued" on a channel's board become videos.

For every channel with a board (or the one given), the board's data source is queried for
cards showing the queued option (every page of results), and each card is taken:

1. a card whose page id a video already has was started before: skipped;
2. its plan comes from the manifest property (a path, or an http(s) URL, to YAML or JSON),
   or else from the first JSON/YAML code block of the page; a card without a valid plan
   gets "Manifest Error" and the reason on the board, and nothing starts;
3. the video is created with the card's page id, which is UNIQUE in the database: of two
   intakes racing for one card, one creates the video and the other skips the card. The
   video goes to "processing", and so does its card;
4. produce_video starts: through ``run_deployment(timeout=0)`` when this intake runs in a
   deployment, as subflows of this run otherwise.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

import httpx
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.deployments import arun_deployment

from flows.core import cards, videos
from flows.core.errors import ManifestError, NotionError, StoreError
from flows.core.manifest import Manifest, load_manifest
from flows.core.notion import (
    BoardConfig,
    card_title,
    manifest_code,
    manifest_from_text,
    manifest_reference,
    refusal_properties,
    status_filter,
)
from flows.core.notion_client import NotionCaller, list_children, query_all
from flows.core.settings import get_settings
from flows.core.store import session_scope
from flows.notion_boards import board_caller, board_source, channel_boards, load_board
from flows.notion_cards import push_card
from flows.pipeline import produce_video

__all__ = ["notion_intake", "read_queued_cards", "take_card"]

DEPLOYMENT = "produce-video/produce-video"
PLAN_SUFFIXES = (".yaml", ".yml", ".json")
StartMode = Literal["auto", "deployment", "here"]


@task(name="read-queued-cards", cache_policy=NO_CACHE, persist_result=False)
async def read_queued_cards(board: str, page_size: int = 100) -> list[dict[str, Any]]:
    """Every card on ``board`` showing the queued option (all pages of the query)."""
    config = await load_board(board)
    call = board_caller(config)
    try:
        source = await board_source(call, config, board)
        queued = status_filter(config, "queued")
        return await query_all(call, source, filter=queued, page_size=page_size)
    finally:
        await call.aclose()


@task(name="take-card", task_run_name="card-{card[id]}", cache_policy=NO_CACHE,
      persist_result=False)  # fmt: skip
async def take_card(card: dict[str, Any], channel: str, board: str) -> int | None:
    """Create the card's video; None when the card was taken already or has no valid plan."""
    async with session_scope() as session:
        if await cards.find_video_by_page(session=session, page_id=card["id"]):
            return None
    config = await load_board(board)
    call = board_caller(config)
    try:
        plan, source = await _plan_of(call, config, card)
    except ManifestError as exc:
        await _refuse(call, config, card, str(exc))
        return None
    finally:
        await call.aclose()
    video_id = await _create(channel, plan, source, card["id"])
    if video_id is not None:
        await push_card(video_id, board)  # the card shows "Processing"
    return video_id


async def _plan_of(
    call: NotionCaller, board: BoardConfig, card: dict[str, Any]
) -> tuple[Manifest, str]:
    """The card's plan and where it came from (a path, a URL, or the card's code block)."""
    reference = manifest_reference(card, board)
    if reference is not None:
        return await _fetch(reference), reference
    code = manifest_code(await list_children(call, card["id"]))
    if code is None:
        raise ManifestError(
            f"the card has no plan: put a path or URL in its {board.manifest_property!r} "
            "property, or a JSON or YAML code block in the page"
        )
    source = f"card {card_title(card, board) or card['id']!r}"
    return manifest_from_text(code, source=source), f"notion:{card['id']}"


async def _fetch(reference: str) -> Manifest:
    if reference.startswith(("http://", "https://")):
        try:
            async with httpx.AsyncClient(timeout=20, follow_redirects=True) as client:
                response = await client.get(reference)
        except httpx.HTTPError as exc:
            raise ManifestError(f"{reference}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ManifestError(f"{reference}: HTTP {response.status_code}")
        return manifest_from_text(response.text, source=reference)
    path = Path(reference.removeprefix("file://")).expanduser()
    if path.suffix not in PLAN_SUFFIXES:
        raise ManifestError(f"{reference}: a plan is a {', '.join(PLAN_SUFFIXES)} file or URL")
    return await asyncio.to_thread(load_manifest, path)


async def _refuse(call: NotionCaller, board: BoardConfig, card: dict[str, Any], why: str) -> None:
    get_run_logger().warning("card %s not started: %s", card["id"], why)
    properties = refusal_properties(board, why)
    try:
        await call(lambda c: c.pages.update(card["id"], properties=properties))
    except NotionError as exc:  # the card stays queued: the next intake says it again
        get_run_logger().warning("card %s: could not show the error: %s", card["id"], exc)


async def _create(channel: str, plan: Manifest, source: str, page_id: str) -> int | None:
    """The new video's id, or None when another intake made the card's video first."""
    try:
        async with session_scope() as session:
            video = await videos.create_video(
                session=session, channel=channel, manifest=plan, source=source,
                notion_page_id=page_id, target_s=get_settings().target_seconds,
            )  # fmt: skip
            await videos.set_status(
                session=session, video_id=video.id, status="processing", actor="notion intake"
            )
            return video.id
    except StoreError:
        async with session_scope() as session:
            if await cards.find_video_by_page(session=session, page_id=page_id):
                return None  # the page id is taken: another intake won the card
        raise


async def _start(video_ids: list[int], deployment: str, mode: StartMode) -> dict[int, str]:
    """Start produce_video for each video; its flow run id, or how it ended here."""
    if mode == "auto":
        context = FlowRunContext.get()
        deployed = bool(context and context.flow_run and context.flow_run.deployment_id)
        mode = "deployment" if deployed else "here"
    if mode == "deployment":
        runs = {}
        for video_id in video_ids:
            run = await arun_deployment(
                name=deployment, parameters={"video_id": video_id}, timeout=0
            )
            runs[video_id] = str(run.id)
        return runs
    results = await asyncio.gather(
        *(produce_video(video_id=video_id) for video_id in video_ids), return_exceptions=True
    )
    outcomes = {}
    for video_id, result in zip(video_ids, results, strict=True):
        if isinstance(result, BaseException):
            get_run_logger().warning("video %s failed: %s", video_id, result)
        outcomes[video_id] = "failed" if isinstance(result, BaseException) else "finished"
    return outcomes


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
        start: "deployment" runs each video through the deployment, "here" as subflows of
            this run; "auto" picks the deployment when this intake runs in one.
    """
    started: list[int] = []
    for name, board in (await channel_boards(channel)).items():
        for card in await read_queued_cards(board, page_size):
            video_id = await take_card(card, name, board)
            if video_id is not None:
                started.append(video_id)
    get_run_logger().info("intake: %d card(s) started: videos %s", len(started), started)
    return {"started": started, "runs": await _start(started, deployment, start) if started else {}}


if __name__ == "__main__":
    asyncio.run(notion_intake())
