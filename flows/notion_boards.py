"""Boards as the flows use them: blocks loaded and cached, and rate-limited callers.

Every request to Notion from Reelflow goes through ``board_caller``: before each attempt it
takes a slot of the Prefect global concurrency limit ``notion-api`` (``reelflow setup``
creates it with one slot decaying at 3 per second: never more than 3 requests in any second,
across all runs and workers, with no burst on top).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from prefect.client.orchestration import get_client
from prefect.concurrency.asyncio import (
    AcquireConcurrencySlotTimeoutError,
    ConcurrencySlotAcquisitionError,
    rate_limit,
)
from prefect.exceptions import PrefectHTTPStatusError

from blocks import Channel, NotionBoard
from flows.channels import load_channel_block
from flows.core import cards
from flows.core.errors import NotionError, ReelflowError
from flows.core.notion import BoardConfig
from flows.core.notion_client import NotionCaller, data_source_of, open_client
from flows.core.store import session_scope

__all__ = [
    "NOTION_LIMIT",
    "NOTION_RATE",
    "board_caller",
    "board_source",
    "channel_boards",
    "channel_documents",
    "forget_boards",
    "load_board",
]

NOTION_LIMIT = "notion-api"
NOTION_RATE = 3.0  # requests per second: the limit's slot decay (one slot, so no burst)
RATE_WAIT_SECONDS = 30.0
BLOCK_TTL = 60.0

_boards: dict[str, tuple[float, BoardConfig]] = {}
_granted = threading.Lock()
_last_grant = 0.0  # when this process last got a notion-api slot (monotonic)


async def load_board(name: str) -> BoardConfig:
    """The NotionBoard block ``name`` as the sync's config (cached for a minute)."""
    hit = _boards.get(name)
    if hit and time.monotonic() - hit[0] < BLOCK_TTL:
        return hit[1]
    try:
        block = await NotionBoard.aload(name)
    except ValueError as exc:
        raise ReelflowError(f"no NotionBoard block {name!r}") from exc
    board = BoardConfig.model_validate(dict(block))
    _boards[name] = (time.monotonic(), board)
    return board


async def channel_boards(channel: str | None = None) -> dict[str, str]:
    """Channel name → its board's block name, for one channel or every channel with a board."""
    if channel is not None:
        block = await load_channel_block(channel)
        return {channel: block.notion_board} if block and block.notion_board else {}
    channels = await channel_documents()
    boards = {name: data.get("notion_board") for name, data in channels.items()}
    return {name: board for name, board in boards.items() if board}


async def channel_documents() -> dict[str, dict[str, Any]]:
    """Every Channel block's name and fields (secrets left out); none before any is saved."""
    async with get_client() as client:
        try:
            documents = await client.read_block_documents_by_type(
                Channel.get_block_type_slug(), include_secrets=False
            )
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code == 404:  # the block type is not registered yet
                return {}
            raise
    return {doc.name: dict(doc.data or {}) for doc in documents if doc.name}


async def _not_before_a_slot_can_be_free() -> None:
    """Wait until a slot this process took can have decayed before asking for the next.

    Not a limiter (Prefect's limit decides, for every process): asking sooner only earns a
    refusal, and each refusal also restarts the server's decay clock for everyone.
    """
    with _granted:
        wait = _last_grant + 1.0 / NOTION_RATE - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


def _note_grant() -> None:
    global _last_grant
    with _granted:
        _last_grant = time.monotonic()


async def _rate_limited() -> None:
    """One slot of ``notion-api`` per request, or a NotionError saying why not."""
    await _not_before_a_slot_can_be_free()
    try:
        await rate_limit(NOTION_LIMIT, timeout_seconds=RATE_WAIT_SECONDS, strict=True)
    except AcquireConcurrencySlotTimeoutError as exc:
        raise NotionError(
            f"no {NOTION_LIMIT} slot in {RATE_WAIT_SECONDS:g} s", status=0, code="rate_wait",
            transient=True,
        ) from exc  # fmt: skip
    except ConcurrencySlotAcquisitionError as exc:
        missing = "must be created" in str(exc)
        hint = ": run `reelflow setup`" if missing else ""
        raise NotionError(
            f"{exc}{hint}", status=0, code="rate_limit", transient=not missing
        ) from exc
    _note_grant()


def board_caller(
    board: BoardConfig, stop: threading.Event | None = None, *, strict: bool = True
) -> NotionCaller:
    """A caller for ``board`` whose every request first waits for the ``notion-api`` limit.

    With ``strict=False`` a missing limit is skipped (``reelflow notion check`` before setup).
    """
    stopped = stop.is_set if stop is not None else None
    before = _rate_limited if strict else _rate_limited_if_set
    return NotionCaller(open_client(board), before=before, stopped=stopped)


async def _rate_limited_if_set() -> None:
    await _not_before_a_slot_can_be_free()
    await rate_limit(NOTION_LIMIT, timeout_seconds=RATE_WAIT_SECONDS, strict=False)
    _note_grant()


def forget_boards() -> None:
    """Drop cached boards (after ``reelflow channel create`` changes one, and in tests)."""
    _boards.clear()


async def board_source(call: NotionCaller, board: BoardConfig, board_name: str) -> str:
    """The board's data source: configured, remembered, or discovered (and remembered)."""
    if board.data_source_id:
        return board.data_source_id
    async with session_scope() as session:
        state = await cards.get_board_state(session=session, name=board_name)
        if state.data_source_id and state.database_id == board.database_id:
            return state.data_source_id
    source = await data_source_of(call, board.database_id)
    async with session_scope() as session:
        state = await cards.get_board_state(session=session, name=board_name)
        state.database_id, state.data_source_id = board.database_id, source
    return source
