"""plan_video: a model's answer to "write a video plan", as JSON text in a file.

Input (stdin JSON):
    contents  list       the conversation so far: [{"role": "user" | "model", "text": str}],
                         starting and ending with a user turn (the ask; on a retry, the
                         earlier answer and what was wrong with it)
    system    str|null   a system instruction
    schema    object     the JSON Schema the answer must follow (Gemini's subset)
    output    str        path of the .json file to write the answer's text to

Output (stdout JSON line):
    {"output", "duration": null, "provider", "model", "cost_usd", "finish_reason", "usage"}

Providers: gemini only (generateContent with structured output, model "gemini-3.8-flash" by
default, key in $REELFLOW_GEMINI_API_KEY, base URL $REELFLOW_GEMINI_BASE_URL; see
_plan_gemini.py). The script does not judge the answer: the caller validates it against the
plan model (flows/planning/topic.py) and asks again with the problem. An outline needs no
script: it becomes a plan offline (flows/core/outline.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _contract as c


def run_gemini(request: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Ask Gemini; write its answer's text to ``temp``."""
    import _plan_gemini

    text, produced = _plan_gemini.answer(request, model or _plan_gemini.DEFAULT_MODEL)
    temp.write_text(text, encoding="utf-8")
    return produced


PROVIDERS = {"gemini": run_gemini}


def run(request: dict[str, Any], provider: str, model: str | None) -> dict[str, Any]:
    implementation = c.pick_provider(PROVIDERS, provider)
    output = c.output_path(request, (".json",))
    with c.atomic_output(output) as temp:
        produced = implementation(request, temp, model)
    return {"output": str(output), "duration": None, "provider": provider, **produced}


def main(argv: Sequence[str] | None = None) -> int:
    return c.serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
