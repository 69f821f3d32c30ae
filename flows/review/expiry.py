"""The ``expire-reviews`` flow: gates that ended with no decision, and runs that died at one."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from flows.core import videos
from flows.core.store import session_scope
from flows.review.gate import time_out_review
from flows.status import change_status

__all__ = ["expire_reviews"]


@flow(name="expire-reviews")
async def expire_reviews() -> list[int]:
    """Time out every video whose review ended without a decision (a suspended
    run's timeout passes with no process alive to notice it). A run that crashed or was
    cancelled at the gate makes its video ``crashed`` (``recover`` makes it again, from the
    cache, and brings it back to review) or ``cancelled``."""
    expired = []
    async with session_scope() as session:
        waiting = await videos.list_videos(session=session, status="awaiting_review", limit=1000)
    async with get_client() as client:
        for video, _channel in waiting:
            if not video.flow_run_id:
                continue
            try:
                run = await client.read_flow_run(UUID(video.flow_run_id))
            except ObjectNotFound:
                continue
            state = run.state
            timed_out = (
                state is not None
                and state.is_paused()
                and state.state_details.pause_timeout is not None
                and state.state_details.pause_timeout < datetime.now(UTC)
            )
            detail = {"flow_run": str(run.id)}
            if state is not None and not timed_out and (state.is_crashed() or state.is_failed()):
                # e.g. marked Crashed while suspended: make it again (free), then review
                why = f"its run {run.id} ended {state.name} while waiting for review"
                await change_status(video.id, "crashed", error=why, detail=detail)
            elif state is not None and not timed_out and state.is_cancelled():
                why = f"its run {run.id} was cancelled while waiting for review"
                await change_status(video.id, "cancelled", error=why, detail=detail)
            elif timed_out or (state is not None and state.is_final()):
                action = (run.parameters or {}).get("on_review_timeout", "expire")
                await time_out_review(video.id, "reject" if action == "reject" else "expire",
                                      detail)  # fmt: skip
                expired.append(video.id)
    return expired
