"""``reelflow estimate``: what a plan would cost on a channel, step by step, without running it.

The channel decides the providers and models, the price table the prices (see
``flows.core.pricing``); items already in the cache cost nothing, as in a real run.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.common import print_json, run
from flows.core.manifest import Manifest, load_manifest
from flows.core.pricing import load_prices
from flows.core.steps import VideoPaths

__all__ = ["estimate_command"]


def estimate_command(
    manifest: Annotated[Path, typer.Argument(help="The plan, YAML or JSON.", exists=True)],
    channel: Annotated[str | None, typer.Option(help="Channel; default the plan's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print what producing a plan would cost, per step and in total; runs nothing."""
    report = run(_estimate(manifest, channel))
    if as_json:
        print_json(report)
        return
    for line in _lines(report):
        typer.echo(line)


async def _estimate(path: Path, channel: str | None) -> dict[str, Any]:
    from flows.budget import estimate_remaining
    from flows.channels import resolve_channel

    plan: Manifest = load_manifest(path)
    name = channel or plan.channel or "default"
    config = await resolve_channel(name)
    paths = VideoPaths.for_video(config.output_root, name, plan.project_id)
    prices = load_prices()
    steps = await estimate_remaining(plan, paths, config, prices)
    budget, source = (
        (plan.budget_usd, "plan") if plan.budget_usd is not None else (config.budget_usd, "channel")
    )
    return {
        "title": plan.title, "project_id": plan.project_id, "channel": name,
        "scenes": len(plan.scenes), "seconds": plan.duration, "prices": str(prices.path),
        "steps": [asdict(s) for s in steps],
        "total_usd": round(sum(s.cost_usd for s in steps), 6),
        "budget_usd": budget, "budget_from": source if budget is not None else None,
        "publish": await _publish_cost(plan, name),
    }  # fmt: skip


async def _publish_cost(plan: Manifest, channel: str) -> dict[str, Any]:
    """Where the video goes once approved, and the YouTube quota that costs (flows/publish)."""
    from flows.channels import resolve_publisher
    from flows.core.quota import publish_cost

    config = await resolve_publisher(channel)
    if config.publisher != "youtube":
        return {"publisher": config.publisher, "folder": str(config.folder), "quota": None}
    wanted = plan.publish
    cost = publish_cost(thumbnail=True, captions=True, playlist=bool(wanted and wanted.playlist_id))
    return {"publisher": "youtube", "uploads": cost.uploads, "units": cost.units,
            "quota": cost.describe()}  # fmt: skip


def _lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"{report['title']} ({report['project_id']}): {report['scenes']} scenes, "
        f"{report['seconds']:g} s, on channel {report['channel']!r}",
        f"{'step':<11} {'provider':<11} {'model':<26} {'items':>5} {'cached':>6} {'estimate':>10}",
    ]
    for step in report["steps"]:
        model = step["model"] if step["provider"] != "local" else "-"
        lines.append(
            f"{step['step']:<11} {step['provider']:<11} {model or '-':<26} {step['items']:>5} "
            f"{step['cached']:>6} {'$' + format(step['cost_usd'], '.4f'):>10}"
        )
    total = report["total_usd"]
    lines.append(f"{'total':<62} {'$' + format(total, '.4f'):>10}")
    budget = report["budget_usd"]
    if budget is None:
        lines.append("no budget set (give the channel one with --budget)")
    elif total > budget:
        lines.append(f"budget ${budget:.2f} ({report['budget_from']}): ${total - budget:.4f} over")
    else:
        lines.append(
            f"budget ${budget:.2f} ({report['budget_from']}): within it, "
            f"${budget - total:.4f} to spare"
        )
    publish = report["publish"]
    lines.append(
        f"publish: youtube, {publish['quota']}" if publish["quota"]
        else f"publish: {publish['publisher']} ({publish.get('folder')}), no quota"
    )  # fmt: skip
    lines.append(f"prices: {report['prices']}")
    return lines
