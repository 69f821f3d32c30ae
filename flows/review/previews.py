"""What a reviewer sees in the run's page before deciding, and the decision afterwards.

The contact sheet and each scene's frame inline (JPEG ``data:`` URIs, so no file server is
needed), a per-scene table (frame, narration, duration, cost), the narration script, the
cost table, the finish (formats, captions, music, loudness, thumbnail), and links to the
MP4s, subtitles and thumbnail (signed media links where ``reelflow media serve`` is set).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image
from prefect.artifacts import (
    acreate_link_artifact,
    acreate_markdown_artifact,
    acreate_table_artifact,
)

from flows.artifacts import latest_steps
from flows.core import executions
from flows.core.manifest import Manifest
from flows.core.media import contact_sheet, finish_markdown, middle_frame
from flows.core.models import Video
from flows.core.steps import VideoPaths
from flows.core.store import session_scope
from flows.media.keys import media_links

__all__ = ["publish_decision", "publish_review", "scene_costs"]


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
    await acreate_markdown_artifact(
        key=f"{key}-scenes",
        markdown=await _scene_table(video, plan, dict(clips)),
        description=f"Video {video.id}: each scene's frame, narration, duration and cost",
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
            for run in await latest_steps(video.id)
        ],
        description=f"Video {video.id}: ${video.cost_usd:.2f} in {video.duration_s or 0:.0f} s",
    )
    await acreate_markdown_artifact(
        key=f"{key}-finish",
        markdown=finish_markdown(plan, paths, video.step_completion or {})
        + _inline(paths.thumbnail(plan.project_id), "thumbnail"),
        description=f"Video {video.id}: formats, captions, music, loudness and thumbnail",
    )
    await _publish_links(key, plan, paths, final)
    return sheet


async def publish_decision(
    video_id: int, round: int, decision: str, *, reviewer: str = "", reason: str = "",
    notes: str = "", changes: Sequence[dict[str, str]] = (),
) -> None:  # fmt: skip
    """The review's outcome as the run's last word: decision, reviewer, round, notes."""
    lines = [f"## Review round {round}: {decision.replace('_', ' ')}", ""]
    for label, value in (("Reviewer", reviewer), ("Reason", reason), ("Notes", notes)):
        if value:
            lines.append(f"**{label}:** {' '.join(value.split())}  ")
    for change in changes:
        fields = ", ".join(f"{k} → {v!r}" for k, v in change.items() if k != "scene")
        lines.append(f"- scene **{change.get('scene')}**: {fields}")
    await acreate_markdown_artifact(
        key=f"video-{video_id}-decision",
        markdown="\n".join(lines),
        description=f"Video {video_id}: the review's decision (round {round})",
    )


async def scene_costs(video_id: int, scene_ids: Sequence[str]) -> dict[str, float]:
    """What each scene's items cost, by scene id: the newest finished run of each item
    (a cached item keeps what it cost when it was made). Items of the whole video (the
    assembly, a music bed) belong to no scene."""
    async with session_scope() as session:
        rows = await executions.list_executions(
            session=session, video_id=video_id, status="completed", limit=100_000
        )
    newest: dict[str, float] = {}
    for row in rows:  # newest first
        if row.label and row.label not in newest and isinstance(row.output, dict):
            newest[row.label] = float(row.output.get("cost_usd") or 0.0)
    costs = dict.fromkeys(scene_ids, 0.0)
    for label, cost in newest.items():
        parts = label.split("/")
        if len(parts) >= 2 and parts[1] in costs:
            costs[parts[1]] += cost
    return costs


async def _scene_table(video: Video, plan: Manifest, clips: dict[str, Path]) -> str:
    """A markdown table, one row per scene: a frame, the narration, the duration, the cost."""
    costs = await scene_costs(video.id, [scene.id for scene in plan.scenes])
    rows = [
        f"## {video.title}: scenes",
        "",
        "| frame | scene | narration | duration | cost |",
        "|---|---|---|---|---|",
    ]
    for scene in plan.scenes:
        frame = middle_frame(clips[scene.id])
        picture = f"![{scene.id}]({_data_uri(frame, 240)})" if frame is not None else "(none)"
        narration = " ".join(scene.narration.split()).replace("|", "\\|")
        rows.append(
            f"| {picture} | **{scene.id}**<br>{scene.title} | {narration} "
            f"| {scene.duration:g} s | ${costs.get(scene.id, 0.0):.2f} |"
        )
    return "\n".join(rows)


async def _publish_links(key: str, plan: Manifest, paths: VideoPaths, final: Path) -> None:
    """Link artifacts to the files a reviewer opens: every format's MP4, the subtitles and
    the thumbnail; signed media links where `reelflow media serve` (or a media URL) is set."""
    links = await media_links()
    files = [("video", final, f"{final.name} ({plan.duration:g} s)", "The MP4 to review")]
    for fmt in plan.formats:
        if fmt != "landscape":
            path = paths.output(plan.project_id, fmt)
            files.append((f"video-{fmt}", path, f"{path.name} ({fmt})", f"The {fmt} cut"))
    subtitles, thumbnail = final.with_suffix(".srt"), paths.thumbnail(plan.project_id)
    files += [
        ("subtitles", subtitles, subtitles.name, "Its subtitles"),
        ("thumbnail", thumbnail, thumbnail.name, "Its thumbnail"),
    ]
    for suffix, path, text, what in files:
        if not path.is_file():
            continue
        await acreate_link_artifact(
            key=f"{key}-{suffix}",
            link=(links.url_for(path) if links else None) or path.as_uri(),
            link_text=text,
            description=what
            if links
            else f"{what} (on the worker's disk; `reelflow media "
            "serve` and REELFLOW_MEDIA_SERVE_URL make it a link reviewers can open)",
        )


def _inline(picture: Path, alt: str, width: int = 640) -> str:
    """A picture shown in the artifact itself (a data URI), or nothing when it is missing."""
    if not picture.is_file():
        return ""
    with Image.open(picture) as image:
        return f"\n\n![{alt}]({_data_uri(image, width)})"


def _thumbnail(sheet: Path, width: int = 960) -> str:
    """The contact sheet as a small JPEG data URI, so the UI shows it without a file server."""
    with Image.open(sheet) as image:
        return _data_uri(image, width)


def _data_uri(image: Image.Image, width: int) -> str:
    scaled = image.convert("RGB")
    scaled.thumbnail((width, width))
    buffer = io.BytesIO()
    scaled.save(buffer, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
