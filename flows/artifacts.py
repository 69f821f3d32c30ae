"""What a run shows in the Prefect UI: its summary (a reviewer's previews are in
``flows/review/previews.py``)."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import acreate_markdown_artifact

from flows.core import step_runs
from flows.core.models import StepRun, Video
from flows.core.steps import STEPS
from flows.core.store import session_scope

__all__ = ["latest_steps", "publish_summary"]


async def latest_steps(video_id: int) -> list[StepRun]:
    """The newest run of each step of a video, in step order."""
    async with session_scope() as session:
        runs = await step_runs.list_step_runs(session=session, video_id=video_id)
    latest = {run.step: run for run in runs}
    return [latest[step] for step in STEPS if step in latest]


async def publish_summary(video: Video, final: Path) -> None:
    """A markdown table of the steps (items, cached, duration, cost) and the output path."""
    rows = [
        f"| {run.step} | {run.items_done}/{run.items_total} | {run.items_cached} "
        f"| {run.duration_s or 0:.1f} s | ${run.cost_usd:.2f} |"
        for run in await latest_steps(video.id)
    ]
    await acreate_markdown_artifact(
        key=f"video-{video.id}-summary",
        markdown="\n".join(
            [
                f"# {video.title}",
                "",
                "| step | items | cached | duration | cost |",
                "|---|---|---|---|---|",
                *rows,
                "",
                f"**Total:** {video.duration_s or 0:.1f} s, ${video.cost_usd:.2f}",
                f"**Output:** `{final}`",
            ]
        ),
        description=f"Video {video.id}: steps, durations, costs and output",
    )
