"""Every status change of a video goes through here: the database first, then the board."""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from flows.core import videos
from flows.core.store import session_scope

__all__ = ["change_status"]


async def change_status(
    video_id: int,
    status: str,
    *,
    error: str | None = None,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record ``status`` (with its sequence number) and mirror it to the channel's board."""
    async with session_scope() as session:
        video = await videos.set_status(
            session=session,
            video_id=video_id,
            status=status,
            error=error,
            actor=actor,
            detail=detail,
        )
        seq = video.status_seq
    logger = _logger()
    if error:
        logger.warning("video %s: %s (%s)", video_id, status, error)
    else:
        logger.info("video %s: %s", video_id, status)
    from flows.notion_sync import submit_sync

    await submit_sync(video_id, seq)


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (the CLI, a test)
        return logging.getLogger("reelflow")
