"""Boards as the flows use them: blocks loaded and cached, rate-limited callers, and each
board's schema read once and cached.

Every request to Notion from Reelflow goes through ``board_caller``: before each attempt it
takes a slot of the Prefect global concurrency limit ``notion-api`` (one slot decaying at 3
per second: never more than 3 requests in any second, across all runs and workers, with no
burst on top). The first request of a process that finds the limit missing creates it
(``flows.bootstrap``): a fresh Prefect home works without ``reelflow setup``.

``board_map`` reads the board's data-source schema (cached for ``SCHEMA_TTL`` seconds,
read again when a write is refused with a 400 validation_error) and maps our fields onto it;
what the board lacks is warned about once per board, naming the command that adds it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.concurrency.asyncio import (
    AcquireConcurrencySlotTimeoutError,
    ConcurrencySlotAcquisitionError,
    rate_limit,
)
from prefect.exceptions import MissingContextError, PrefectHTTPStatusError

from blocks import Channel, NotionBoard
from flows.bootstrap import NOTION_LIMIT, NOTION_RATE, ensure_limit
from flows.channels import load_channel_block
from flows.core.errors import NotionError, ReelflowError
from flows.core.store import session_scope
from flows.notion import records
from flows.notion.client import NotionCaller, data_source_of, open_client
from flows.notion.provision import read_schema
from flows.notion.schema import BoardConfig, BoardMap, map_board

__all__ = [
    "NOTION_LIMIT",
    "NOTION_RATE",
    "board_caller",
    "board_map",
    "board_source",
    "channel_boards",
    "channel_documents",
    "forget_boards",
    "forget_schema",
    "load_board",
    "log",
]

RATE_WAIT_SECONDS = 30.0
BLOCK_TTL = 60.0
SCHEMA_TTL = 300.0

_boards: dict[str, tuple[float, BoardConfig]] = {}
_maps: dict[tuple[str, str], tuple[float, BoardMap]] = {}  # (board, data source) → its map
_warned: dict[str, tuple[str, ...]] = {}  # board → what it lacked when last warned
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
    await ensure_limit(NOTION_LIMIT)  # once per process: made here when missing
    try:
        await rate_limit(NOTION_LIMIT, timeout_seconds=RATE_WAIT_SECONDS, strict=True)
    except AcquireConcurrencySlotTimeoutError as exc:
        raise NotionError(
            f"no {NOTION_LIMIT} slot in {RATE_WAIT_SECONDS:g} s", status=0, code="rate_wait",
            transient=True,
        ) from exc  # fmt: skip
    except ConcurrencySlotAcquisitionError as exc:
        raise NotionError(str(exc), status=0, code="rate_limit", transient=True) from exc
    _note_grant()


def board_caller(board: BoardConfig, stop: threading.Event | None = None) -> NotionCaller:
    """A caller for ``board`` whose every request first waits for the ``notion-api`` limit."""
    stopped = stop.is_set if stop is not None else None
    return NotionCaller(open_client(board), before=_rate_limited, stopped=stopped)


def forget_boards() -> None:
    """Drop cached boards and schemas (after a command changes one, and in tests)."""
    _boards.clear()
    _maps.clear()
    _warned.clear()


def forget_schema(board_name: str) -> None:
    """Read the board's schema again at its next use (a write was refused)."""
    for key in [k for k in _maps if k[0] == board_name]:
        del _maps[key]


async def board_map(call: NotionCaller, board: BoardConfig, board_name: str) -> BoardMap:
    """Where our fields go on this board (its schema, cached); warns once about gaps."""
    source = await board_source(call, board, board_name)
    hit = _maps.get((board_name, source))
    if hit and time.monotonic() - hit[0] < SCHEMA_TTL:
        return hit[1]
    mapped = map_board(board, await read_schema(call, source))
    _maps[(board_name, source)] = (time.monotonic(), mapped)
    gaps = mapped.missing + mapped.wrong
    if gaps and _warned.get(board_name) != gaps:
        _warned[board_name] = gaps
        log().warning(
            "board %s: not shown on its cards (no such property): %s; "
            "`reelflow notion check --fix --board %s` adds them",
            board_name, "; ".join(gaps), board_name,
        )  # fmt: skip
    return mapped


def log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run's logger, or Reelflow's outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("reelflow.notion")


async def board_source(call: NotionCaller, board: BoardConfig, board_name: str) -> str:
    """The board's data source: configured, remembered, or discovered (and remembered)."""
    if board.data_source_id:
        return board.data_source_id
    async with session_scope() as session:
        state = await records.get_board_state(session=session, name=board_name)
        if state.data_source_id and state.database_id == board.database_id:
            return state.data_source_id
    source = await data_source_of(call, board.database_id)
    async with session_scope() as session:
        state = await records.get_board_state(session=session, name=board_name)
        state.database_id, state.data_source_id = board.database_id, source
    return source
