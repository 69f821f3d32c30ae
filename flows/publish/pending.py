"""publish-pending: publish the videos waiting for it. Deployed on a schedule.

A ``publish_waiting`` video whose time has come (the quota came back at midnight Pacific, a
transient failure's wait is over, or a run died while publishing it) is published again:
its upload resumes the session it had, or the finished upload is kept.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, get_run_logger

from flows.core import uploads
from flows.core.errors import VideoBusy
from flows.core.store import session_scope
from flows.publish.publish import publish_held, run_holder
from flows.runs import on_cancelled, on_crashed, on_failed

__all__ = ["publish_pending"]


@flow(name="publish-pending", on_crashed=[on_crashed], on_cancellation=[on_cancelled],
      on_failure=[on_failed])  # fmt: skip
async def publish_pending() -> dict[str, Any]:
    """Publish every publish_waiting video whose time has come, one after another."""
    async with session_scope() as session:
        due = [video.id for video in await uploads.due_to_publish(session=session)]
    holder, outcomes = run_holder(), {}
    for video_id in due:
        try:
            outcomes[str(video_id)] = await publish_held(video_id, holder)
        except VideoBusy as exc:  # another run is publishing it
            get_run_logger().info("video %s: %s", video_id, exc)
    return {"due": due, "videos": outcomes}


if __name__ == "__main__":
    asyncio.run(publish_pending())
