"""plan_and_produce: a topic or an outline in, a plan made and shown, then the video made.

The plan comes from an outline (offline, flows/core/outline.py) or from a topic (Gemini with
structured output through the ``plan_video`` script, each answer a ``run_script`` task run,
checked and fed back by flows/planning/topic.py). The plan is shown as a markdown artifact
(the commented YAML) and stored with a new video, which ``start_videos`` starts like every
other video: through the produce-video deployment in the channel's work queue when this runs
in a deployment (so the review gate suspends there), as a subflow otherwise.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from flows.core import videos
from flows.core.errors import ConfigError
from flows.core.manifest import Manifest
from flows.core.names import check_channel_name
from flows.core.outline import OutlineOptions, outline_to_plan
from flows.core.plan_yaml import commented_yaml
from flows.core.runner import ScriptResult
from flows.core.settings import get_settings
from flows.core.store import session_scope
from flows.launch import DEPLOYMENT, StartMode, start_videos
from flows.planning.topic import TopicRequest, plan_from_topic
from flows.scripts import run_script

__all__ = ["plan_and_produce", "plan_topic"]


async def plan_topic(request: TopicRequest, channel: str) -> tuple[Manifest, float]:
    """A topic's plan, asked of Gemini with the channel's credentials: (plan, cost)."""
    from flows.channels import provider_environment

    env = await provider_environment(channel, "gemini")

    async def ask(payload: dict[str, Any], args: list[str]) -> ScriptResult:
        return await run_script("plan_video", payload, args, env=env, label="plan/topic",
                                concurrency_limit="provider-gemini")  # fmt: skip

    made = await plan_from_topic(request, ask=ask)
    get_run_logger().info(
        "plan %r: %d scenes, answer %d of %d, $%.4f",
        made.plan.title, len(made.plan.scenes), made.tries, request.tries, made.cost_usd,
    )  # fmt: skip
    return made.plan, made.cost_usd


@flow(name="plan-and-produce")
async def plan_and_produce(
    topic: str = "",
    outline: str = "",
    minutes: float = 1.0,
    channel: str = "default",
    style: str | None = None,
    voice: str = "en",
    resolution: str = "1280x720",
    fps: int = 30,
    fit: Literal["cut", "extend"] | None = None,
    model: str | None = None,
    start: StartMode = "auto",
    deployment: str = DEPLOYMENT,
) -> dict[str, Any]:
    """Write a plan from a topic (Gemini) or an outline (offline), then make the video.

    Args:
        topic: What the video is about; Gemini writes the plan (the channel's Gemini
            credentials, or REELFLOW_GEMINI_API_KEY on the worker).
        outline: Or a markdown outline: `# Title`, one `## Scene` per scene, paragraphs as
            narration, optional `> background: ...` hints. Planned offline.
        minutes: How long the video should be (topic only: an outline's narration decides).
        channel: The channel to make it for.
        style: A look, e.g. documentary, explainer, dramatic.
        voice: The narration voice.
        resolution: WIDTHxHEIGHT.
        fps: Frames a second.
        fit: A narration longer than its scene: "cut" it or "extend" the scene.
        model: The Gemini model for a topic; default REELFLOW_PLAN_MODEL.
        start: "deployment", "here" or "auto" (the deployment when this runs in one).
        deployment: The produce-video deployment that makes the video.
    """
    name = check_channel_name(channel)
    asked = TopicRequest(topic=" ".join(topic.split()), minutes=minutes, style=style,
                         voice=voice, resolution=resolution, fps=fps, channel=name, fit=fit,
                         model=model or get_settings().plan_model,
                         tries=get_settings().plan_tries)  # fmt: skip
    plan, cost = await _plan(asked, outline)
    text = commented_yaml(plan, origin="made by the plan-and-produce flow")
    await acreate_markdown_artifact(
        key="plan", markdown=f"## The plan\n\n```yaml\n{text}```", description=plan.title
    )
    async with session_scope() as session:
        video = await videos.open_video(
            session=session, channel=name, manifest=plan, source="plan-and-produce",
            target_s=get_settings().target_seconds,
        )  # fmt: skip
    runs = await start_videos([video.id], mode=start, deployment=deployment)
    return {"video_id": video.id, "plan_cost_usd": cost, "title": plan.title,
            "scenes": len(plan.scenes), "seconds": plan.duration, "runs": runs}  # fmt: skip


async def _plan(asked: TopicRequest, outline: str) -> tuple[Manifest, float]:
    """The plan (and what it cost) from the outline, else from the topic."""
    if bool(asked.topic) == bool(outline.strip()):
        raise ConfigError("give a topic or an outline (one of them)")
    if outline.strip():
        options = OutlineOptions(voice=asked.voice, resolution=asked.resolution, fps=asked.fps,
                                 style=asked.style, fit=asked.fit,
                                 channel=asked.channel)  # fmt: skip
        return outline_to_plan(outline, options, source="outline"), 0.0
    return await plan_topic(asked, asked.channel or "default")
