"""Every status change of a video goes through here: the database first, then the board."""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from flows.core import videos
from flows.core.errors import is_transient
from flows.core.recovery import RetryPolicy, plan_retry
from flows.core.store import session_scope

__all__ = ["change_status", "fail_step"]


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
    from flows.notion.sync import submit_sync

    await submit_sync(video_id, seq)


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (the CLI, a test)
        return logging.getLogger("reelflow")


async def fail_step(
    video_id: int, step: str, error: BaseException, message: str, policy: RetryPolicy
) -> str:
    """Record a failed step: ``retry_scheduled`` (with the next attempt's time) when the
    failure is transient and the channel's policy still allows a later try, else the step's
    error status. Returns the status set."""
    from flows.core.steps import ERROR_STATUS

    when = None
    if is_transient(error):
        async with session_scope() as session:
            when = await plan_retry(session=session, video_id=video_id, policy=policy)
    if when is None:
        status = ERROR_STATUS[step]
        await change_status(video_id, status, error=message, detail={"step": step})
        return status
    at = when.isoformat(timespec="seconds")
    await change_status(
        video_id, "retry_scheduled", error=f"{message} (next attempt at {at})",
        detail={"step": step, "next_attempt_at": at},
    )  # fmt: skip
    return "retry_scheduled"
