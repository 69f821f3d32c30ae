"""The review gate: a person approves, rejects or asks for changes before anything goes out.

A local run pauses (its process waits, polling every second). A deployed run suspends,
releasing its worker; when resumed its flow body runs again from the top and comes straight
back here (everything before the gate is already done and cached). Each review round has its
own pause key: the same key would hand back the previous round's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run, asuspend_flow_run

from flows.core import videos
from flows.core.models import Video
from flows.core.store import session_scope
from flows.media.keys import media_link
from flows.review.decision import ReviewDecision, decision_form
from flows.review.links import review_link
from flows.review.notify import AWAITING_REVIEW_EVENT, REVIEWED_EVENT
from flows.review.previews import publish_decision
from flows.status import change_status

__all__ = ["TIMED_OUT", "TimeoutAction", "is_deployed", "review_gate", "time_out_review"]

TimeoutAction = Literal["expire", "reject"]
TIMED_OUT = "the review timed out with no decision"


async def time_out_review(video_id: int, action: TimeoutAction, detail: dict[str, Any]) -> str:
    """A review that ended with no decision: ``review_expired``, or ``rejected`` when the
    run says so (``on_review_timeout="reject"``). Returns the status set."""
    if action == "reject":
        await change_status(video_id, "rejected", error=TIMED_OUT, detail=detail)
        return "rejected"
    await change_status(video_id, "review_expired", detail=detail)
    return "review_expired"


def is_deployed() -> bool:
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


async def review_gate(
    video_id: int,
    *,
    round: int,
    timeout_s: int,
    description: str,
    scenes: Sequence[str] = (),
    on_timeout: TimeoutAction = "expire",
) -> ReviewDecision | None:
    """Wait for this round's decision and record it; None when the review timed out
    (the video then ``review_expired``, or ``rejected`` when ``on_timeout="reject"``).

    Approve and reject set the video's final status; request_changes is returned for the
    flow to apply. Either way the next review of the video is a new round.
    """
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
        channel = await videos.channel_name(session=session, video=video)
    if video.status != "awaiting_review":  # a suspended run resumed here has recorded it
        await change_status(video_id, "awaiting_review", detail={"round": round})
        await _announce(video, channel, round)
    form = decision_form(scenes).with_initial_data(description=description)
    key = f"review-{video_id}-{round}"
    get_run_logger().info("video %s awaits review (round %s, key %s)", video_id, round, key)
    try:
        if is_deployed():  # release the worker; the run comes back here when resumed
            answer = await asuspend_flow_run(wait_for_input=form, timeout=timeout_s, key=key)
        else:
            answer = await apause_flow_run(
                wait_for_input=form, timeout=timeout_s, poll_interval=1, key=key
            )
    except FlowPauseTimeout:
        status = await time_out_review(video_id, on_timeout, {"round": round})
        _reviewed(video, round, "expired" if status == "review_expired" else "rejected")
        await publish_decision(video_id, round, status, reason=TIMED_OUT)
        return None
    decision = ReviewDecision.model_validate(answer.model_dump() if answer else {})
    _reviewed(video, round, decision.decision, decision.reviewer)
    await publish_decision(
        video_id, round, decision.decision, reviewer=decision.reviewer, reason=decision.reason,
        notes=decision.notes, changes=[c.as_change() for c in decision.changes],
    )  # fmt: skip
    async with session_scope() as session:
        await videos.next_review_round(session=session, video_id=video_id)
    if decision.decision != "request_changes":
        approved = decision.decision == "approve"
        await change_status(
            video_id,
            "approved" if approved else "rejected",
            error=None if approved else decision.reason,
            actor=decision.reviewer or None,
            detail={
                "round": round,
                "notes": decision.notes or None,
                "reason": decision.reason or None,
            },
        )
    return decision


def _video_resource(video: Video) -> dict[str, str]:
    return {
        "prefect.resource.id": f"reelflow.video.{video.id}",
        "prefect.resource.name": video.title,
    }


async def _announce(video: Video, channel: str, round: int) -> None:
    """The event reviewers' notifications start from (``reelflow setup --notify``)."""
    related = []
    if video.flow_run_id:
        related.append({
            "prefect.resource.id": f"prefect.flow-run.{video.flow_run_id}",
            "prefect.resource.role": "flow-run",
        })  # fmt: skip
    emit_event(
        event=AWAITING_REVIEW_EVENT,
        resource=_video_resource(video),
        related=related,
        payload={
            "video_id": video.id, "channel": channel, "round": round,
            "cost_usd": f"{video.cost_usd:.2f}",
            "review_url": review_link(video.flow_run_id) or "`reelflow review list`",
            "video_url": await media_link(video.output_path),
        },
    )  # fmt: skip


def _reviewed(video: Video, round: int, decision: str, reviewer: str = "") -> None:
    """The review of this round ended (its reminder is off)."""
    emit_event(
        event=REVIEWED_EVENT,
        resource=_video_resource(video),
        payload={"round": round, "decision": decision, "reviewer": reviewer},
    )
