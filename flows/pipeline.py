"""produce_video: a video plan in, a reviewed MP4 out.

Six steps, each a task whose items are cached tasks: assets → composites → video clips →
narration → sound effects → assembly. The finished MP4 is probed before it counts, then a
person reviews it: approve, reject, or ask for changes to some scenes, which redoes only
their items and the assembly (the cache keeps the rest) and comes back to the gate. After a
failure or a crash, running the same plan (or the same video id) again resumes: finished
items come back from the cache and only the rest runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import uuid4

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.states import Failed

from flows.artifacts import publish_summary
from flows.budget import check_budget, check_plan_budget
from flows.channels import resolve_channel
from flows.core import videos
from flows.core.channel import ChannelConfig
from flows.core.errors import ConfigError, ManifestError, StepError, VideoBusy
from flows.core.manifest import Manifest, apply_changes, load_manifest, parse_manifest
from flows.core.media import check_outputs, problems_with_final, record_loudness
from flows.core.models import Video
from flows.core.names import check_channel_name
from flows.core.settings import get_settings
from flows.core.steps import VideoPaths, plan_items
from flows.core.store import session_scope
from flows.notion.sync import wait_for_syncs
from flows.planning.fit import after_step, step_order
from flows.publish.publish import publish_video
from flows.review import ReviewDecision, TimeoutAction, review_gate
from flows.review.previews import publish_review
from flows.runs import holding_video, on_cancelled, on_crashed, on_failed
from flows.status import change_status
from flows.steps import item_runner, run_step

__all__ = ["produce_video"]


@flow(
    name="produce-video",
    task_runner=item_runner(),
    on_crashed=[on_crashed],
    on_cancellation=[on_cancelled],
    on_failure=[on_failed],
)
async def produce_video(
    manifest: str | Manifest | None = None,
    video_id: int | None = None,
    channel: str | None = None,
    budget_usd: float | None = None,
    review_timeout_hours: float = 168.0,
    allow_partial: bool = False,
    on_review_timeout: TimeoutAction = "expire",
) -> dict[str, Any]:
    """Turn a video plan into a finished MP4 and stop for a human review.

    Args:
        manifest: A path to a plan (YAML or JSON) or the plan itself.
        video_id: Resume this video instead (its stored plan is used).
        channel: The channel to produce it for; default the plan's, else "default".
        budget_usd: Spending cap for this video; default the channel's.
        review_timeout_hours: How long the review may take before it expires.
        on_review_timeout: What a review that times out does to the video: "expire"
            (review_expired) or "reject" (rejected, the reason saying it timed out).
        allow_partial: Start even when the estimate of what is left to make is over the
            budget, spending step by step until a step would pass it.
    """
    video, plan, channel_name = await _open(manifest, video_id, channel, budget_usd)
    try:
        async with holding_video(video.id, _flow_run_id() or f"local-{uuid4()}"):
            return await _produce(
                video, plan, channel_name, budget_usd, review_timeout_hours, allow_partial,
                on_review_timeout,
            )  # fmt: skip
    except VideoBusy as exc:  # another live run has it: say so in one line, no traceback
        return Failed(message=str(exc), data=exc)  # type: ignore[return-value]
    finally:
        await wait_for_syncs(video.id)  # let the board catch up, for a few seconds at most


async def _produce(
    video: Video, plan: Manifest, channel_name: str, budget_usd: float | None,
    review_timeout_hours: float, allow_partial: bool, on_review_timeout: TimeoutAction,
) -> dict[str, Any]:  # fmt: skip
    """Make, review, apply changes and make again, until a decision or the review expires."""
    config = await resolve_channel(channel_name)
    if plan.loudness_lufs is None and config.loudness_lufs is not None:  # the channel's target
        plan = plan.model_copy(update={"loudness_lufs": config.loudness_lufs})
    paths = VideoPaths.for_video(config.output_root, channel_name, plan.project_id)
    final = paths.final(plan.project_id)
    resumed = video.status == "awaiting_review" and not problems_with_final(final, plan.duration)
    async with session_scope() as session:
        video = await videos.attach_run(
            session=session, video_id=video.id, flow_run_id=_flow_run_id()
        )
    budget = budget_usd if budget_usd is not None else video.budget_usd or config.budget_usd
    if not resumed and not allow_partial:
        await check_plan_budget(video.id, plan, paths, config, budget)
    while True:
        if not resumed:  # a suspended run resumed at its gate has nothing to redo
            video = await _make(video, plan, paths, config, budget)
        decision = await review_gate(
            video.id,
            round=video.review_round,
            timeout_s=int(review_timeout_hours * 3600),
            on_timeout=on_review_timeout,
            description=_review_note(video, final),
            scenes=[scene.id for scene in plan.scenes],
        )
        if decision is None or decision.decision != "request_changes":
            approved = decision is not None and decision.decision == "approve"
            published = await publish_video(video.id) if approved else None  # flows/publish
            return {**_result(video, final, decision), "publish": published}
        plan, resumed = await _change_plan(video.id, plan, decision), False


async def _make(
    video: Video, plan: Manifest, paths: VideoPaths, config: ChannelConfig,
    budget: float | None,
) -> Video:  # fmt: skip
    """The six steps, the final check and the artifacts a reviewer looks at."""
    await _mark_started(video.id)
    for step in step_order(plan):  # narration first when a scene may extend to its speech
        items = plan_items(plan, step, paths, config.providers, config.models)
        await check_budget(video.id, step, items, config, budget)
        results = await run_step(step, video.id, items, config)
        plan = await after_step(video.id, plan, step, results)  # flows/planning/fit.py
    final = paths.final(plan.project_id)
    problems, loudness = await asyncio.to_thread(check_outputs, plan, paths)  # every format
    if problems:
        message = "assembly: " + "; ".join(problems)
        await change_status(video.id, "assembly_error", error=message)
        raise StepError(message, step="assembly", status="assembly_error")
    async with session_scope() as session:
        await record_loudness(
            session=session, video_id=video.id, target=plan.loudness_target, measured=loudness
        )
    finished = await _mark_finished(video.id, final)
    await publish_summary(finished, final)
    await publish_review(finished, plan, paths, final)
    return finished


async def _change_plan(video_id: int, plan: Manifest, decision: ReviewDecision) -> Manifest:
    """Apply a reviewer's scene changes to the plan and record who asked for what."""
    changes = [c.as_change() for c in decision.changes]
    try:
        changed = apply_changes(plan, changes)
    except ManifestError as exc:  # a change that cannot apply: the next round says why
        get_run_logger().warning("requested changes not applied: %s", exc)
        return plan
    async with session_scope() as session:
        await videos.replace_plan(
            session=session, video_id=video_id, manifest=changed, actor=decision.reviewer or None,
            changes=changes,
        )  # fmt: skip
    get_run_logger().info("video %s: changes to %s", video_id, [c["scene"] for c in changes])
    return changed


async def _open(
    manifest: str | Manifest | None, video_id: int | None, channel: str | None,
    budget_usd: float | None,
) -> tuple[Video, Manifest, str]:  # fmt: skip
    """The video this run works on, its plan and its channel.

    A run resumed after suspending at its gate (same flow run) keeps the stored plan, which
    may carry reviewers' changes, whatever plan its parameters hold.
    """
    this_run = _flow_run_id()
    async with session_scope() as session:
        if video_id is None and manifest is None:
            raise ConfigError("give a manifest (path or plan) or a video id")
        if video_id is None:
            assert manifest is not None
            plan = load_manifest(manifest) if isinstance(manifest, str) else manifest
            name = check_channel_name(channel or plan.channel or "default")
            found = await videos.find_resumable_video(
                session=session, channel=name, project_id=plan.project_id
            )
            if found is None or found.flow_run_id != this_run:
                video = await videos.open_video(
                    session=session, channel=name, manifest=plan,
                    source=manifest if isinstance(manifest, str) else None,
                    budget_usd=budget_usd, target_s=get_settings().target_seconds,
                )  # fmt: skip
                return video, plan, name
            video_id = found.id
        video = await videos.get_video(session=session, video_id=video_id)
        plan = parse_manifest(video.manifest, source=f"video {video_id}")
        return video, plan, await videos.channel_name(session=session, video=video)


def _flow_run_id() -> str | None:
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else None


async def _mark_started(video_id: int) -> None:
    async with session_scope() as session:
        await videos.mark_started(session=session, video_id=video_id)


async def _mark_finished(video_id: int, final: Path) -> Video:
    async with session_scope() as session:
        video = await videos.mark_finished(
            session=session, video_id=video_id, output_path=str(final)
        )
    if video.over_target:
        get_run_logger().warning(
            "video %s took %.1f s, over its %.1f s target",
            video_id, video.duration_s or 0, video.target_s,
        )  # fmt: skip
    return video


def _review_note(video: Video, final: Path) -> str:
    return (
        f"## Review video {video.id}: {video.title}\n\n"
        f"MP4: `{final}`  \nSubtitles: `{final.with_suffix('.srt')}`  \n"
        f"Cost: ${video.cost_usd:.2f}. The run's artifacts hold a contact sheet, the "
        f"narration and the cost table.\n\nApprove it, reject it with a reason, or request "
        f"changes: per scene id, new text for its title, prompts, motion or narration."
    )


def _result(video: Video, final: Path, decision: ReviewDecision | None) -> dict[str, Any]:
    return {
        "video_id": video.id,
        "output": str(final),
        "subtitles": str(final.with_suffix(".srt")),
        "cost_usd": video.cost_usd,
        "decision": decision.model_dump(mode="json") if decision else None,
    }
