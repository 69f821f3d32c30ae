"""``reelflow plan``: a plan from a topic (Gemini), from an outline (offline), or a plan
checked (valid, and whether each narration fits its scene).

    reelflow plan "How rivers carve canyons" --minutes 1.5 --out canyons.yaml
    reelflow plan --from examples/outline.md --out canyons.yaml
    reelflow plan --check canyons.yaml
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from flows.cli.common import fail, run
from flows.core.errors import ReelflowError
from flows.core.manifest import Manifest, load_manifest
from flows.core.narration_fit import estimated_notes
from flows.core.outline import OutlineOptions, outline_to_plan, slug
from flows.core.plan_yaml import commented_yaml
from flows.core.settings import get_settings
from flows.planning.files import read_outline, write_plan
from flows.planning.topic import TopicPlan, TopicRequest, estimate_cost, plan_from_topic

__all__ = ["plan_command"]

KEY_VARIABLE = "REELFLOW_GEMINI_API_KEY"


def plan_command(
    topic: Annotated[str | None, typer.Argument(help="What the video is about (Gemini).")] = None,
    outline: Annotated[
        Path | None, typer.Option("--from", help="A markdown outline: planned offline.")
    ] = None,
    check: Annotated[
        Path | None, typer.Option("--check", help="Check a plan and its narration's fit.")
    ] = None,
    minutes: Annotated[float, typer.Option(min=0.1, max=60, help="Length (topic).")] = 1.0,
    style: Annotated[str | None, typer.Option(help="e.g. documentary, explainer.")] = None,
    voice: Annotated[str | None, typer.Option(help="Narration voice; default en.")] = None,
    resolution: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT; default 1280x720.")] = None,
    fps: Annotated[int | None, typer.Option(min=1, max=60, help="Default 30.")] = None,
    fit: Annotated[
        Literal["cut", "extend"] | None,
        typer.Option(help="A narration longer than its scene: cut it or extend the scene."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write; default PROJECT.yaml.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --out file.")] = False,
    channel: Annotated[
        str | None, typer.Option(help="Use this channel's Gemini credentials and base URL.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Gemini model; default the setting.")] = None,
    tries: Annotated[
        int | None, typer.Option(min=1, max=10, help="Answers to ask for; default 3.")
    ] = None,
) -> None:
    """Write a plan you can edit: from a topic (Gemini), an outline (offline), or check one."""
    given = [name for name, value in (("TOPIC", topic), ("--from", outline),
                                      ("--check", check)) if value]  # fmt: skip
    if len(given) != 1:
        fail("give one of TOPIC, --from OUTLINE.md or --check PLAN.yaml")
    try:
        if check is not None:
            plan = load_manifest(check)
            _say(f"{check}: a valid plan", plan)
            return
        options: dict[str, Any] = {"voice": voice, "resolution": resolution, "fps": fps,
                                   "style": style, "fit": fit, "channel": channel}  # fmt: skip
        if outline is not None:
            text = read_outline(outline)
            chosen = {k: v for k, v in options.items() if v is not None}
            plan = outline_to_plan(text, OutlineOptions(**chosen), source=str(outline))
            _write(plan, out, force, origin=f"made offline from {outline}")
            return
        assert topic is not None
        made = _from_topic(topic, minutes, options, channel, model, tries)
        spent = f"answer {made.tries} of at most {tries or get_settings().plan_tries}"
        _write(made.plan, out, force, origin=f"written by {made.model} from a topic",
               note=f"{spent}, ${made.cost_usd:.4f}")  # fmt: skip
    except ReelflowError as exc:
        fail(str(exc))


def _from_topic(topic: str, minutes: float, options: dict[str, Any], channel: str | None,
                model: str | None, tries: int | None) -> TopicPlan:  # fmt: skip
    from flows.core.pricing import load_prices

    if not topic.strip():
        fail("the topic is blank: say what the video is about")
    settings = get_settings()
    request = TopicRequest(
        topic=" ".join(topic.split()), minutes=minutes, style=options["style"],
        voice=options["voice"] or "en", resolution=options["resolution"] or "1280x720",
        fps=options["fps"] or 30, channel=channel, fit=options["fit"],
        model=model or settings.plan_model, tries=tries or settings.plan_tries,
    )  # fmt: skip
    if channel is None and not os.environ.get(KEY_VARIABLE, "").strip():
        fail(
            f"{KEY_VARIABLE} is not set: export it, or give --channel NAME (a channel with a "
            "Gemini credentials block), or plan offline from an outline with --from OUTLINE.md"
        )
    prices = load_prices()
    one, most = estimate_cost(request, prices)
    typer.echo(
        f"asking {request.model} for a {minutes:g}-minute plan: about ${one:.4f} an answer, "
        f"at most ${most:.4f} for {request.tries} (prices: {prices.path})",
        err=True,
    )
    return run(_ask_model(request, channel))


async def _ask_model(request: TopicRequest, channel: str | None) -> TopicPlan:
    from flows.core.runner import RunContext, ScriptResult, execute_script

    env: dict[str, str] = {}
    if channel is not None:
        from flows.channels import provider_environment

        env = await provider_environment(channel, "gemini")
    label = f"plan/{slug(request.topic, fallback='topic')[:40]}"

    async def ask(payload: dict[str, Any], args: list[str]) -> ScriptResult:
        return await execute_script(
            "plan_video", input=payload, args=args, env=env, context=RunContext(label=label)
        )

    return await plan_from_topic(request, ask=ask)


def _write(plan: Manifest, out: Path | None, force: bool, *, origin: str,
           note: str | None = None) -> None:  # fmt: skip
    target = out or Path(f"{plan.project_id}.yaml")
    write_plan(target, commented_yaml(plan, origin=origin), force=force)
    _say(f"wrote {target}" + (f" ({note})" if note else ""), plan)
    typer.echo(f"next: reelflow estimate {target}; reelflow run {target}")


def _say(headline: str, plan: Manifest) -> None:
    typer.echo(
        f"{headline}: {plan.title!r}, {len(plan.scenes)} scenes, {plan.duration:g} s, "
        f"{plan.resolution}"
    )
    for note in estimated_notes(plan):
        typer.echo(f"fit: {note.message()}", err=True)
