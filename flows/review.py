"""The review gate: a person approves, rejects or asks for changes before anything goes out.

A local run pauses (its process waits, polling every second). A deployed run suspends,
releasing its worker; when resumed its flow body runs again from the top and comes straight
back here (everything before the gate is already done and cached). Each review round has its
own pause key: the same key would hand back the previous round's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout, ObjectNotFound
from prefect.flow_runs import apause_flow_run, aresume_flow_run, asuspend_flow_run
from prefect.input import RunInput
from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL
from pydantic import BaseModel, Field, create_model, model_validator

from flows.artifacts import publish_decision
from flows.automations import AWAITING_REVIEW_EVENT, REVIEWED_EVENT
from flows.core import videos
from flows.core.errors import ReviewError
from flows.core.manifest import CHANGEABLE_FIELDS
from flows.core.models import Video
from flows.core.store import session_scope
from flows.media.keys import media_link
from flows.status import change_status

__all__ = [
    "ReviewDecision",
    "SceneChange",
    "TimeoutAction",
    "answer_when_paused",
    "expire_reviews",
    "review_gate",
    "submit_decision",
]


def _no_nones(data: Any) -> Any:
    """A form's input without its None values: None (older clients and forms) means
    unchanged or empty, as "" does."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v is not None}
    return data


class SceneChange(BaseModel):
    """New text for one scene: any of its prompts, its motion or its narration.

    Fields are plain strings, "" meaning unchanged: Prefect's UI renders ``str | None`` as a
    type picker ("str" / "None") that reviewers cannot be expected to understand.
    """

    scene: str = Field(description="The scene's id.")
    title: str = Field(default="", description="New title (empty: unchanged).")
    background: str = Field(default="", description="New background prompt (empty: unchanged).")
    foreground: str = Field(default="", description="New foreground prompt (empty: unchanged).")
    motion: str = Field(default="", description="New camera move (empty: unchanged).")
    narration: str = Field(default="", description="New narration text (empty: unchanged).")
    sfx: str = Field(default="", description="New sound-effect prompt (empty: unchanged).")

    @model_validator(mode="before")
    @classmethod
    def _none_is_unchanged(cls, data: Any) -> Any:
        return _no_nones(data)

    @model_validator(mode="after")
    def _sets_something(self) -> SceneChange:
        if not self.changed_fields():
            raise ValueError(f"a change to scene {self.scene!r} must set at least one field")
        return self

    def changed_fields(self) -> dict[str, str]:
        """The fields this change sets (non-blank), by name."""
        return {f: v for f in CHANGEABLE_FIELDS if (v := getattr(self, f)).strip()}

    def as_change(self) -> dict[str, str]:
        """``{"scene": id, field: new text, …}``, what the plan's apply_changes takes."""
        return {"scene": self.scene, **self.changed_fields()}


class ReviewDecision(RunInput):
    """A reviewer's decision on a finished video.

    ``decision`` has no default: a form submitted without a choice is refused (by the form
    and by the server's check of the input against this schema), never taken as approval.
    """

    decision: Literal["approve", "reject", "request_changes"] = Field(
        description="Approve it, reject it (with a reason), or ask for changes to scenes.",
    )
    reason: str = Field(default="", description="Why it is rejected (required then).")
    notes: str = Field(default="", description="Anything the team should know.")
    reviewer: str = Field(default="", description="Who decided.")
    changes: list[SceneChange] = Field(
        default_factory=list, description="For request_changes: what to change, per scene."
    )

    @model_validator(mode="before")
    @classmethod
    def _none_is_empty(cls, data: Any) -> Any:
        return _no_nones(data)

    @model_validator(mode="after")
    def _complete(self) -> ReviewDecision:
        if self.decision == "reject" and not self.reason.strip():
            raise ValueError("a rejection needs a reason")
        if self.decision == "request_changes" and not self.changes:
            raise ValueError("request_changes needs at least one scene change")
        return self


def decision_form(scene_ids: Sequence[str]) -> type[ReviewDecision]:
    """The review form of one video: a change's scene is chosen from the video's own scene
    ids (a select in the UI; any other id is refused when the run is resumed)."""
    if not scene_ids:
        return ReviewDecision
    scene_id: Any = Literal[tuple(scene_ids)]
    change = create_model(
        "SceneChange",
        __base__=SceneChange,
        scene=(scene_id, Field(description="The scene to change.")),
    )
    return create_model(
        "ReviewDecision",
        __base__=ReviewDecision,
        changes=(
            list[change],
            Field(default_factory=list, description="For request_changes: what to change."),
        ),
    )


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


def review_link(flow_run_id: str | None) -> str | None:
    """The run's page in the Prefect UI (PREFECT_UI_URL, else from PREFECT_API_URL).

    It is the new UI's page (``/v2/…``, the server's default front page in Prefect 3.8):
    in the older one a click in the middle of a select opens and shuts its list at once
    (only a click on its arrow opens it), which leaves the Decision hard to choose by
    mouse; tests/e2e/test_review_browser.py drives both in Chromium."""
    if not flow_run_id:
        return None
    ui = PREFECT_UI_URL.value() or str(PREFECT_API_URL.value() or "").removesuffix("/api")
    return f"{ui.rstrip('/')}/v2/runs/flow-run/{flow_run_id}" if ui else None


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
    try:
        await aresume_flow_run(run_id, run_input=decision.model_dump(mode="json"))
    except RuntimeError as exc:  # the server checked the input against the video's form
        why = str(exc).removeprefix("Cannot resume this run: ").removeprefix("Reason: ")
        raise ReviewError(f"flow run {run_id} refused the decision: {why}") from None


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
