"""Answering a gate from outside the run: the CLI, `reelflow run`'s prompt, the board."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import aresume_flow_run

from flows.core import videos
from flows.core.errors import ReviewError
from flows.core.models import Video
from flows.core.store import session_scope
from flows.review.decision import ReviewDecision

__all__ = ["answer_when_paused", "submit_decision"]


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
