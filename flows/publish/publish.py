"""The publish step, and the ``publish`` flow that runs it for one video later.

``publish_video`` takes an approved video (or one waiting or failed at publishing) to
``publishing`` and then to ``published`` with its public URL, or ``publish_waiting`` with the
time it may go on (the quota resets at midnight Pacific; a failure a later try may fix, after
``REELFLOW_RETRY_LATER_BASE_SECONDS``), or ``publish_error`` with one line saying why. The
channel's publisher does the work: YouTube, or the ``published/`` folder.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from flows.channels import resolve_publisher
from flows.core import uploads, videos
from flows.core.errors import PublishError, PublishWaiting, ReelflowError, is_transient
from flows.core.manifest import parse_manifest
from flows.core.models import utcnow
from flows.core.publishing import PublishFiles
from flows.core.quota import QUOTA_ERRORS, next_reset
from flows.core.settings import get_settings
from flows.core.steps import VideoPaths
from flows.core.store import session_scope
from flows.publish.folder import publish_to_folder
from flows.publish.youtube import error_type, publish_to_youtube
from flows.runs import holding_video, on_cancelled, on_crashed, on_failed
from flows.status import change_status

__all__ = ["PUBLISHABLE", "publish", "publish_video"]

PUBLISHABLE = frozenset({"approved", "publish_waiting", "publish_error"})
PUBLISHERS = {"folder": publish_to_folder, "youtube": publish_to_youtube}


@task(name="publish-video", task_run_name="publish-{video_id}", cache_policy=NO_CACHE,
      persist_result=False)  # fmt: skip
async def publish_video(video_id: int) -> dict[str, Any]:
    """Publish an approved video with its channel's publisher; what became of it."""
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
        channel = await videos.channel_name(session=session, video=video)
    config = await resolve_publisher(channel)
    await change_status(video_id, "publishing", detail={"publisher": config.publisher})
    try:
        plan = parse_manifest(video.manifest, source=f"video {video_id}")
        paths = VideoPaths.for_video(config.output_root, channel, plan.project_id)
        files = PublishFiles.of(plan, paths, video.output_path)
        url = await PUBLISHERS[config.publisher](video, plan, files, config)
    except ReelflowError as exc:
        return await _stopped(video_id, exc, config.publisher)
    async with session_scope() as session:
        await uploads.mark_published(session=session, video_id=video_id, url=url)
    await change_status(video_id, "published", detail={"url": url, "publisher": config.publisher})
    return {"video_id": video_id, "status": "published", "url": url}


def _message(exc: ReelflowError) -> str:
    """The script's own one-line message when it gave one, else the error's."""
    output = getattr(exc, "output", None)
    error = output.get("error") if isinstance(output, dict) else None
    said = error.get("message") if isinstance(error, dict) else None
    return str(said or exc)


async def _stopped(video_id: int, exc: ReelflowError, publisher: str) -> dict[str, Any]:
    """Record why publishing stopped: waiting (quota, transient) or an error."""
    message, until = _message(exc), None
    if isinstance(exc, PublishWaiting):
        until = exc.until
    elif error_type(exc) in QUOTA_ERRORS:
        until = next_reset()
        message = f"{message}; the quota resets at midnight Pacific ({until:%Y-%m-%d %H:%M} UTC)"
    elif is_transient(exc):
        until = utcnow() + timedelta(seconds=get_settings().retry_later_base_seconds)
        message = f"{message} (next attempt at {until.isoformat(timespec='seconds')})"
    status = "publish_error" if until is None else "publish_waiting"
    if until is not None:
        async with session_scope() as session:
            await uploads.set_waiting_until(session=session, video_id=video_id, until=until)
    detail = {"publisher": publisher, "until": until.isoformat() if until else None}
    await change_status(video_id, status, error=message, detail=detail)
    return {"video_id": video_id, "status": status, "error": message,
            "until": until.isoformat(timespec="seconds") if until else None}  # fmt: skip


def run_holder() -> str:
    """The holder this run takes videos with: its flow run id (local runs: made up)."""
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else f"local-{uuid4()}"


async def publish_held(video_id: int, holder: str) -> dict[str, Any]:
    """Publish ``video_id`` while holding it (one live run per video: never two uploads)."""
    async with holding_video(video_id, holder):
        async with session_scope() as session:
            video = await videos.get_video(session=session, video_id=video_id)
        if video.status == "published":
            return {"video_id": video_id, "status": "published", "url": video.public_url}
        # ``publishing`` here, with the video ours: a run that died at it (resume its upload)
        if video.status not in PUBLISHABLE | {"publishing"}:
            raise PublishError(
                f"video {video_id} is {video.status}: only approved videos are published"
            )
        return await publish_video(video_id)


@flow(name="publish", on_crashed=[on_crashed], on_cancellation=[on_cancelled],
      on_failure=[on_failed])  # fmt: skip
async def publish(video_id: int) -> dict[str, Any]:
    """Publish an approved video with its channel's publisher (YouTube, or the channel's
    published/ folder); a video waiting for quota or that failed at publishing tries again.

    Args:
        video_id: The video, approved (or publish_waiting, publish_error).
    """
    return await publish_held(video_id, run_holder())


if __name__ == "__main__":
    import sys

    asyncio.run(publish(int(sys.argv[1])))
