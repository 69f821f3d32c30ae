"""A topic into a plan: ask a model for one with structured output, check its answer with
the same model that checks hand-written plans, and feed the problem back until it is valid
or the tries are used up.

Prefect-free: the one call that reaches the model is ``ask`` (the caller's way of running
the ``plan_video`` script: ``execute_script`` from the CLI, the ``run_script`` task from a
flow), so the loop is the same everywhere and every answer is a script run in the
execution log with its cost.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.core.errors import ManifestError
from flows.core.manifest import Manifest, parse_manifest
from flows.core.plan_schema import plan_json_schema
from flows.core.pricing import PriceTable
from flows.core.runner import ScriptResult

__all__ = ["Ask", "TopicPlan", "TopicRequest", "check_answer", "estimate_cost", "plan_from_topic"]

Ask = Callable[[dict[str, Any], list[str]], Awaitable[ScriptResult]]
SCRIPT = "plan_video"
LENGTH_TOLERANCE = 0.25  # the scenes may last this much more or less than asked
ANSWER_ECHO = 20_000  # characters of a refused answer sent back with its problem
SYSTEM = (
    "You write plans for short narrated videos made from still pictures with a slow camera "
    "move. Each scene has one picture prompt (no text or lettering in it), one camera move, "
    "and a narration of one to three sentences a narrator can say in the scene's duration "
    "(about 2.9 words a second). Answer with the JSON the schema describes and nothing else."
)


@dataclass(frozen=True)
class TopicRequest:
    """What to plan, and the fields the plan gets from us rather than from the model."""

    topic: str
    minutes: float = 1.0
    style: str | None = None
    voice: str = "en"
    resolution: str = "1280x720"
    fps: int = 30
    channel: str | None = None
    fit: str | None = None
    model: str = "gemini-3.8-flash"
    tries: int = 3

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def scene_range(self) -> tuple[int, int]:
        """How many scenes the schema allows: 4 to 15 seconds each."""
        return max(1, math.floor(self.seconds / 15)), max(1, math.ceil(self.seconds / 4))


@dataclass(frozen=True)
class TopicPlan:
    """A valid plan, the tries it took and what they cost."""

    plan: Manifest
    model: str
    tries: int
    cost_usd: float
    execution_ids: tuple[str, ...] = field(default=())


def prompt_for(request: TopicRequest) -> str:
    low, high = request.scene_range
    style = f" in a {request.style} style" if request.style else ""
    return (
        f"Write the plan of a narrated video{style} about: {request.topic}\n"
        f"It lasts about {request.seconds:g} seconds in all (the scenes' durations add up to "
        f"that), in {low} to {high} scenes. Give the plan a short title and a project_id made "
        f"from it; give each scene an id, a title, a background picture prompt, a camera "
        f"move, its duration in seconds and its narration."
    )


def check_answer(text: str, request: TopicRequest, *, source: str) -> Manifest:
    """The model's answer as a plan, or a ManifestError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if isinstance(data, dict):
        data = {**data, **_ours(request)}
    plan = parse_manifest(data, source=source)
    total = plan.duration
    if abs(total - request.seconds) > LENGTH_TOLERANCE * request.seconds:
        raise ManifestError(
            f"{source}: the scenes last {total:g} seconds in all; the video should last "
            f"about {request.seconds:g} (within {LENGTH_TOLERANCE:.0%})",
            field="scenes",
        )
    return plan


def _ours(request: TopicRequest) -> dict[str, Any]:
    ours: dict[str, Any] = {"resolution": request.resolution, "fps": request.fps,
                            "voice": request.voice}  # fmt: skip
    if request.channel:
        ours["channel"] = request.channel
    if request.fit:
        ours["fit"] = request.fit
    return ours


async def plan_from_topic(request: TopicRequest, *, ask: Ask) -> TopicPlan:
    """Ask up to ``request.tries`` times; a ManifestError with the last problem if no
    answer is a valid plan."""
    low, high = request.scene_range
    schema = plan_json_schema(min_scenes=low, max_scenes=high)
    contents = [{"role": "user", "text": prompt_for(request)}]
    args = ["--provider", "gemini", "--model", request.model]
    spent, executions, problem = 0.0, [], ""
    with tempfile.TemporaryDirectory(prefix="reelflow-plan-") as work:
        for attempt in range(1, request.tries + 1):
            output = Path(work) / f"answer-{attempt}.json"
            payload = {"contents": contents, "system": SYSTEM, "schema": schema,
                       "output": str(output)}  # fmt: skip
            result = await ask(payload, args)
            executions.append(result.execution_id)
            produced = result.output if isinstance(result.output, dict) else {}
            spent += float(produced.get("cost_usd") or 0.0)
            text = output.read_text(encoding="utf-8") if output.is_file() else ""
            try:
                plan = check_answer(text, request, source=f"answer {attempt}")
            except ManifestError as exc:
                problem = str(exc)
                contents += [{"role": "model", "text": text[:ANSWER_ECHO] or "(empty)"},
                             {"role": "user", "text": _feedback(problem)}]  # fmt: skip
                continue
            return TopicPlan(plan, request.model, attempt, round(spent, 6), tuple(executions))
    raise ManifestError(
        f"{request.model} gave no valid plan in {request.tries} tries (${spent:.4f} spent); "
        f"the last problem: {problem}"
    )


def _feedback(problem: str) -> str:
    return (
        f"That plan is not valid: {problem}. Answer again with the whole corrected plan, "
        "following the schema."
    )


def estimate_cost(request: TopicRequest, prices: PriceTable) -> tuple[float, float]:
    """What one try and all tries may cost, in USD: the ask (about four characters a token)
    in, a plan of the most scenes out (about 120 tokens a scene), each retry resending the
    conversation so far. An estimate: thinking tokens, when a model spends them, are extra."""
    low, high = request.scene_range
    asked = len(SYSTEM) + len(prompt_for(request))
    asked += len(json.dumps(plan_json_schema(min_scenes=low, max_scenes=high)))
    tokens_in, tokens_out = asked / 4, 40 + 120 * high
    price_in = prices.price("gemini", request.model, "input_per_million_tokens")
    price_out = prices.price("gemini", request.model, "output_per_million_tokens")
    one = (tokens_in * price_in + tokens_out * price_out) / 1_000_000
    total = sum(
        ((tokens_in + n * (tokens_out + 60)) * price_in + tokens_out * price_out) / 1_000_000
        for n in range(request.tries)
    )
    return round(one, 6), round(total, 6)
