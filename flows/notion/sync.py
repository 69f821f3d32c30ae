"""Mirroring videos to their channel's Notion board: fire-and-forget syncs from the pipeline.

Fire and forget. ``change_status`` commits a status (bumping ``videos.status_seq``), then
calls ``submit_sync``, which submits the ``sync_card`` task with ``.submit()`` and returns:
nothing in the pipeline awaits it, and a failed sync never fails the flow. At the end of a
run ``wait_for_syncs`` gives the video's syncs a few seconds, then tells them to stop;
whatever did not land is pushed later by ``notion_reconcile`` (``flows.notion.reconcile``).

Coalesced. While a video's sync task runs in this process, a new change only marks the
video dirty and wakes it: the task writes the newest state again (``push_card`` always
writes the video's latest state, never the one that asked). The task then lingers a couple
of seconds for the next change before it ends, so a burst of statuses costs one task, not one
each. Across processes, the video's lease in the database does the same (``push``).

Rate and errors: every request waits for the Prefect global concurrency limit
``notion-api`` (``boards``); 429s, retries and permanent errors are handled and recorded by
``push``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, PrefectWrappedFuture

from flows.channels import load_channel_block
from flows.core import videos
from flows.core.errors import ReelflowError
from flows.core.settings import get_settings
from flows.core.store import session_scope
from flows.notion.push import log, push_card

__all__ = ["submit_sync", "sync_card", "wait_for_syncs"]

INLINE_SECONDS = 10.0  # outside a run (no task runner), a change is pushed inline this long
LINGER_SECONDS = 2.0  # a sync task waits this long for the video's next change before ending


@dataclass
class _Local:
    """This process's syncs of one video."""

    stop: threading.Event = field(default_factory=threading.Event)  # give up now
    wake: threading.Event = field(default_factory=threading.Event)  # a change, or the end
    running: PrefectFuture[Any] | None = None
    dirty: bool = False  # changed since the running task last read it
    closing: bool = False  # the run is ending: write what is left, then finish
    futures: list[PrefectFuture[Any]] = field(default_factory=list)

    def alive(self) -> bool:
        running = self.running
        return isinstance(running, PrefectWrappedFuture) and not running.wrapped_future.done()


_lock = threading.Lock()
_local: dict[tuple[str, int], _Local] = {}  # by (database, video id)
_channels: dict[tuple[str, int], str] = {}  # (database, video id) → the video's channel


async def submit_sync(video_id: int, seq: int) -> None:
    """Submit a fire-and-forget sync of the video's card; a no-op without a board."""
    try:
        board = await _board_of_video(video_id)
    except ReelflowError as exc:
        log().warning("video %s: no board sync: %s", video_id, exc)
        return
    if board is None:
        return
    with _lock:
        local = _local.setdefault(_key(video_id), _Local())
        local.stop.clear()
        if FlowRunContext.get() is not None:
            if local.alive():
                local.dirty = True  # the running task writes this change too
                local.wake.set()
                return
            local.closing, local.dirty = False, False
            local.running = sync_card.submit(video_id, seq, board)
            local.futures.append(local.running)
            return
    timer = asyncio.get_running_loop().call_later(INLINE_SECONDS, local.stop.set)
    try:  # a CLI command or a script: no task runner, so the change is pushed here
        await push_card(video_id, board, stop=local.stop)
    finally:
        timer.cancel()


def _key(video_id: int) -> tuple[str, int]:
    return get_settings().database_url, video_id


async def _board_of_video(video_id: int) -> str | None:
    key = _key(video_id)
    channel = _channels.get(key)
    if channel is None:  # asked once per video: a video's channel never changes
        async with session_scope() as session:
            video = await videos.get_video(session=session, video_id=video_id)
            channel = _channels[key] = await videos.channel_name(session=session, video=video)
    block = await load_channel_block(channel)  # cached for a minute
    return block.notion_board if block is not None else None


async def wait_for_syncs(video_id: int, timeout: float = 15.0) -> None:
    """At the end of a run: give the video's syncs ``timeout`` seconds, then stop them."""
    with _lock:
        local = _local.get(_key(video_id))
        if local is None or not local.futures:
            return
        futures, local.futures = local.futures, []
        local.closing = True
        local.wake.set()
    deadline = time.monotonic() + timeout
    for future in futures:
        await asyncio.to_thread(future.wait, max(0.0, deadline - time.monotonic()))
    if time.monotonic() >= deadline:
        local.stop.set()  # they give up at their next step; reconcile pushes what is left
        log().info("video %s: the board is still catching up; reconcile will finish", video_id)


@task(name="sync-notion-card", task_run_name="notion-{video_id}-{seq}", cache_policy=NO_CACHE,
      persist_result=False)  # fmt: skip
async def sync_card(video_id: int, seq: int, board: str) -> str:
    """Bring one video's card up to date, and again after each change made meanwhile.

    Args:
        video_id: The video.
        seq: The status sequence number that started this task (names the run).
        board: The NotionBoard block of the video's channel.
    """
    with _lock:  # (made by submit_sync, unless this runs in another process)
        local = _local.setdefault(_key(video_id), _Local())
    try:
        while True:
            outcome = await push_card(video_id, board, stop=local.stop)
            if not await _more_to_write(local, outcome):
                return outcome
    except BaseException:
        with _lock:
            local.running = None
        raise


async def _more_to_write(local: _Local, outcome: str) -> bool:
    """Whether the video changed (now or within the linger time); False ends the task."""
    deadline = time.monotonic() + LINGER_SECONDS
    while True:
        with _lock:
            stopped = local.stop.is_set()
            if local.dirty and outcome in ("synced", "behind") and not stopped:
                local.dirty = False
                return True
            if outcome != "synced" or stopped or local.closing or time.monotonic() >= deadline:
                local.dirty, local.running = False, None
                return False
            local.wake.clear()
        await asyncio.to_thread(local.wake.wait, max(0.0, deadline - time.monotonic()))
