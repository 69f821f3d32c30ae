"""What a run shows in the Prefect UI: its summary, and what a reviewer needs to decide."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from prefect.artifacts import (
    acreate_link_artifact,
    acreate_markdown_artifact,
    acreate_table_artifact,
)

from flows.core import step_runs
from flows.core.manifest import Manifest
from flows.core.media import contact_sheet
from flows.core.models import StepRun, Video
from flows.core.steps import STEPS, VideoPaths
from flows.core.store import session_scope
from flows.media.keys import media_links

__all__ = ["publish_review", "publish_summary"]


async def _latest_steps(video_id: int) -> list[StepRun]:
    async with session_scope() as session:
        runs = await step_runs.list_step_runs(session=session, video_id=video_id)
    latest = {run.step: run for run in runs}
    return [latest[step] for step in STEPS if step in latest]


async def publish_summary(video: Video, final: Path) -> None:
    """A markdown table of the steps (items, cached, duration, cost) and the output path."""
    rows = [
        f"| {run.step} | {run.items_done}/{run.items_total} | {run.items_cached} "
        f"| {run.duration_s or 0:.1f} s | ${run.cost_usd:.2f} |"
        for run in await _latest_steps(video.id)
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


async def publish_review(video: Video, plan: Manifest, paths: VideoPaths, final: Path) -> Path:
    """Before the gate: a contact sheet, the narration script, the cost and duration table,
    and where the MP4 is. Returns the contact sheet's path."""
    clips = [(scene.id, paths.step("video") / f"{scene.id}.mp4") for scene in plan.scenes]
    sheet = contact_sheet(clips, paths.step("assembly") / f"{plan.project_id}-contact-sheet.png")
    key = f"video-{video.id}-review"
    await acreate_markdown_artifact(
        key=f"{key}-contact-sheet",
        markdown=f"## {video.title}: one frame per scene\n\n![contact sheet]({_thumbnail(sheet)})"
        f"\n\n`{sheet}`",
        description=f"Video {video.id}: contact sheet",
    )
    script = [f"## {video.title}: narration", ""]
    for scene in plan.scenes:
        script.append(f"**{scene.id}** ({scene.duration:g} s, {scene.title}): {scene.narration}")
        script.append("")
    await acreate_markdown_artifact(
        key=f"{key}-narration", markdown="\n".join(script), description="The narration script"
    )
    await acreate_table_artifact(
        key=f"{key}-costs",
        table=[
            {
                "step": run.step,
                "items": f"{run.items_done}/{run.items_total}",
                "cached": run.items_cached,
                "duration_s": round(run.duration_s or 0, 2),
                "cost_usd": round(run.cost_usd, 4),
            }
            for run in await _latest_steps(video.id)
        ],
        description=f"Video {video.id}: ${video.cost_usd:.2f} in {video.duration_s or 0:.0f} s",
    )
    links = await media_links()
    for suffix, what in ((".mp4", "The MP4 to review"), (".srt", "Its subtitles")):
        path = final.with_suffix(suffix)
        if not path.is_file():
            continue
        await acreate_link_artifact(
            key=f"{key}-{'video' if suffix == '.mp4' else 'subtitles'}",
            link=(links.url_for(path) if links else None) or path.as_uri(),
            link_text=f"{path.name} ({plan.duration:g} s)" if suffix == ".mp4" else path.name,
            description=what
            if links
            else f"{what} (on the worker's disk; `reelflow media "
            "serve` and REELFLOW_MEDIA_SERVE_URL make it a link reviewers can open)",
        )
    return sheet


def _thumbnail(sheet: Path, width: int = 960) -> str:
    """The contact sheet as a small JPEG data URI, so the UI shows it without a file server."""
    with Image.open(sheet) as image:
        scaled = image.convert("RGB")
        scaled.thumbnail((width, width))
        buffer = io.BytesIO()
        scaled.save(buffer, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
