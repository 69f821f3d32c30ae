"""The review gate: a person approves, rejects or asks for changes before anything goes out.

A local run pauses (its process waits, polling every second). A deployed run suspends,
releasing its worker; when resumed its flow body runs again from the top and comes straight
back here (everything before the gate is already done and cached). Each review round has its
own pause key: the same key would hand back the previous round's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, ObjectNotFound
from prefect.flow_runs import apause_flow_run, aresume_flow_run, asuspend_flow_run
from prefect.input import RunInput
from pydantic import BaseModel, Field, model_validator

from flows.core import videos
from flows.core.errors import ReviewError
from flows.core.manifest import CHANGEABLE_FIELDS
from flows.core.models import Video
from flows.core.store import session_scope
from flows.status import change_status

__all__ = [
    "ReviewDecision",
    "SceneChange",
    "answer_when_paused",
    "expire_reviews",
    "review_gate",
    "submit_decision",
]


class SceneChange(BaseModel):
    """New text for one scene: any of its prompts, its motion or its narration."""

    scene: str = Field(description="The scene's id.")
    title: str | None = Field(default=None, description="New title.")
    background: str | None = Field(default=None, description="New background prompt.")
    foreground: str | None = Field(default=None, description="New foreground prompt.")
    motion: str | None = Field(default=None, description="New camera move.")
    narration: str | None = Field(default=None, description="New narration text.")
    sfx: str | None = Field(default=None, description="New sound-effect prompt.")

    @model_validator(mode="after")
    def _sets_something(self) -> SceneChange:
        if all(getattr(self, f) is None for f in CHANGEABLE_FIELDS):
            raise ValueError(f"a change to scene {self.scene!r} must set at least one field")
        return self


class ReviewDecision(RunInput):
    """A reviewer's decision on a finished video."""

    decision: Literal["approve", "reject", "request_changes"] = Field(
        default="approve",
        description="Approve it, reject it (with a reason), or ask for changes to scenes.",
    )
    reason: str | None = Field(default=None, description="Why it is rejected (required then).")
    notes: str | None = Field(default=None, description="Anything the team should know.")
    reviewer: str | None = Field(default=None, description="Who decided.")
    changes: list[SceneChange] = Field(
        default_factory=list, description="For request_changes: what to change, per scene."
    )

    @model_validator(mode="after")
    def _complete(self) -> ReviewDecision:
        if self.decision == "reject" and not (self.reason or "").strip():
            raise ValueError("a rejection needs a reason")
        if self.decision == "request_changes" and not self.changes:
            raise ValueError("request_changes needs at least one scene change")
        return self


def is_deployed() -> bool:
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


async def review_gate(
    video_id: int, *, round: int, timeout_s: int, description: str
) -> ReviewDecision | None:
    """Wait for this round's decision and record it; None when the review expired.

    Approve and reject set the video's final status; request_changes is returned for the
    flow to apply. Either way the next review of the video is a new round.
    """
    await change_status(video_id, "awaiting_review", detail={"round": round})
    form = ReviewDecision.with_initial_data(description=description, decision="approve")
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
        await change_status(video_id, "review_expired", detail={"round": round})
        return None
    decision = ReviewDecision.model_validate(answer.model_dump() if answer else {})
    async with session_scope() as session:
        await videos.next_review_round(session=session, video_id=video_id)
    if decision.decision != "request_changes":
        approved = decision.decision == "approve"
        await change_status(
            video_id,
            "approved" if approved else "rejected",
            error=None if approved else decision.reason,
            actor=decision.reviewer,
            detail={"round": round, "notes": decision.notes, "reason": decision.reason},
        )
    return decision


async def submit_decision(flow_run_id: UUID | str, decision: ReviewDecision) -> None:
    """Resume a paused or suspended review with ``decision``."""
    run_id = UUID(str(flow_run_id))
    async with get_client() as client:
        try:
            run = await client.read_flow_run(run_id)
        except ObjectNotFound:
            raise ReviewError(f"no flow run {run_id} on this Prefect server") from None
    if run.state is None or not run.state.is_paused():
        state = run.state.name if run.state else "no state"
        raise ReviewError(f"flow run {run_id} is not waiting for a review (it is {state})")
    await aresume_flow_run(run_id, run_input=decision.model_dump(mode="json"))


async def answer_when_paused(
    video_id: int,
    decide: Callable[[Video], Awaitable[ReviewDecision | None]],
    *,
    poll: float = 0.5,
    rounds: int | None = None,
) -> None:
    """Answer a video's reviews (``rounds`` of them, or until cancelled): wait until its run is
    paused at the gate, ask ``decide``, resume it (how ``reelflow run`` answers its gate).
    ``decide`` returns None when it settled the round itself (resumed the run, or saw the
    gate answered elsewhere)."""
    answered: set[tuple[str, int]] = set()
    while rounds is None or len(answered) < rounds:
        async with session_scope() as session:
            video = await videos.get_video(session=session, video_id=video_id)
        gate = (video.flow_run_id or "", video.review_round)
        if video.status == "awaiting_review" and video.flow_run_id and gate not in answered:
            async with get_client() as client:
                run = await client.read_flow_run(UUID(video.flow_run_id))
            if run.state is not None and run.state.is_paused():
                decision = await decide(video)
                if decision is not None:
                    await submit_decision(video.flow_run_id, decision)
                answered.add(gate)
        await asyncio.sleep(poll)


@flow(name="expire-reviews")
async def expire_reviews() -> list[int]:
    """Mark review_expired every video whose review ended without a decision (a suspended
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
                await change_status(video.id, "review_expired", detail=detail)
                expired.append(video.id)
    return expired
