"""The price table: ``prices.toml`` beside this file, or the file ``$REELFLOW_PRICES`` names.

Each paid provider asks for its price *before* it calls the API, so a model without a price
is refused (exit 2, ``unknown_model``) and nothing is spent. The pipeline's estimator
(``flows/core/pricing.py``) reads the same file with the same rules.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from _contract import BadInput, Failure

DEFAULT = Path(__file__).with_name("prices.toml")


@cache
def table() -> dict[str, Any]:
    """The parsed price table."""
    path = Path(os.environ.get("REELFLOW_PRICES") or DEFAULT)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise Failure(f"cannot read the price table {path}: {exc}", type="bad_prices") from None


def price(*path: str) -> Any:
    """The entry at ``path`` (e.g. ``"kling", "kling-v2-1"``); a missing one is refused."""
    node: Any = table()
    for part in path:
        if not isinstance(node, dict) or part not in node:
            known = ", ".join(sorted(node)) if isinstance(node, dict) else ""
            raise BadInput(
                f"no price for {' '.join(path)} in the price table (priced: {known}); "
                "add it to prices.toml first",
                type="unknown_model",
            )
        node = node[part]
    return node


def gemini_image(model: str, usage: dict[str, Any] | None) -> float:
    """One image: from the response's token counts when it has them, else per image."""
    entry = price("gemini", model)
    prompt = (usage or {}).get("promptTokenCount")
    output = (usage or {}).get("candidatesTokenCount")
    if isinstance(prompt, int) and isinstance(output, int) and "output_per_million_tokens" in entry:
        cost = (
            prompt * float(entry.get("input_per_million_tokens", 0.0))
            + output * float(entry["output_per_million_tokens"])
        ) / 1_000_000
    else:
        cost = float(entry["per_image"])
    return round(cost, 6)


def kling_clip(model: str, mode: str, seconds: float) -> float:
    """A Kling clip of ``seconds`` (5 or 10) in ``mode`` (std or pro)."""
    return round(float(price("kling", model, mode)) * seconds, 6)


def speech(model: str, characters: int) -> float:
    """ElevenLabs text to speech for ``characters`` billed characters."""
    return round(float(price("elevenlabs", "speech", model)) * characters / 1000, 6)


def sound(model: str, seconds: float) -> float:
    """An ElevenLabs sound effect of ``seconds`` asked for."""
    return round(float(price("elevenlabs", "sound", model)) * seconds, 6)
