"""Prices and cost estimates, without Prefect: what a step's items would cost.

The price table is the scripts' own ``prices.toml`` (``$REELFLOW_PRICES`` names another), so
an estimate and the ``cost_usd`` the scripts report come from the same numbers, computed the
same way (``scripts/_prices.py``):

    assets     gemini      per_image of the model
    video      kling       the model's per-second price in its mode x the clip Kling makes
                           (5 s, or 10 s for scenes over 5 s)
    narration  elevenlabs  per 1,000 characters of the model x the narration's characters
    sfx        elevenlabs  per second of the model x the seconds asked for (0.5..22)
    music bed  elevenlabs  per second of the model x the seconds asked for (3..600)
    anything   local       nothing

A provider or model without a price is a ConfigError: nothing is estimated as free by
accident.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.core.errors import ConfigError
from flows.core.settings import PROJECT_ROOT, get_settings
from flows.core.steps import Item

__all__ = [
    "DEFAULT_MODELS",
    "PriceTable",
    "StepEstimate",
    "estimate_step",
    "item_cost",
    "kling_clip_seconds",
    "load_prices",
    "model_of",
    "prices_path",
    "sound_seconds",
]

# The model each paid provider's script uses when the channel names none.
DEFAULT_MODELS = {
    ("assets", "gemini"): "gemini-2.5-flash-image",
    ("video", "kling"): "kling-v2-5-turbo:std",
    ("narration", "elevenlabs"): "eleven_multilingual_v2",
    ("sfx", "elevenlabs"): "eleven_text_to_sound_v2",
}
MUSIC_MODEL = "music_v1"  # the music bed (generate_music, an item of the sfx step)
SOUND_MIN, SOUND_MAX = 0.5, 22.0
MUSIC_MIN, MUSIC_MAX = 3.0, 600.0  # what ElevenLabs music makes (music_length_ms)


@dataclass(frozen=True)
class PriceTable:
    """The parsed price table and where it came from."""

    path: Path
    data: dict[str, Any]

    def price(self, *keys: str) -> float:
        node: Any = self.data
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                raise ConfigError(f"no price for {' '.join(keys)} in {self.path}: add it first")
            node = node[key]
        if not isinstance(node, int | float) or isinstance(node, bool):
            raise ConfigError(f"{self.path}: the price of {' '.join(keys)} is not a number")
        return float(node)


@dataclass(frozen=True)
class StepEstimate:
    """What one step would cost: its items, how many are cached (free), and the total."""

    step: str
    provider: str
    model: str | None
    items: int
    cached: int
    cost_usd: float


def prices_path() -> Path:
    """``$REELFLOW_PRICES``, else prices.toml in the scripts directory, else the project's."""
    configured = os.environ.get("REELFLOW_PRICES")
    if configured:
        return Path(configured).expanduser()
    beside = get_settings().scripts_dir / "prices.toml"
    return beside if beside.is_file() else PROJECT_ROOT / "scripts" / "prices.toml"


def load_prices(path: Path | None = None) -> PriceTable:
    """Read the price table; an unreadable one is a ConfigError."""
    path = path or prices_path()
    try:
        return PriceTable(path, tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the price table {path}: {exc}") from exc


def model_of(item: Item) -> str | None:
    """The model the item's script will use (its own default when the channel names none)."""
    default = MUSIC_MODEL if item.script == "generate_music" else None
    model = item.model or default or DEFAULT_MODELS.get((item.step, item.provider))
    if item.provider == "kling" and model and ":" not in model:
        model += ":std"
    return model


def kling_clip_seconds(duration: float) -> int:
    """Kling makes 5 s or 10 s clips: the shortest that covers the scene (10 s at most)."""
    return 5 if duration <= 5 else 10


def sound_seconds(duration: float) -> float:
    """The seconds of sound ElevenLabs is asked for: the scene's, within 0.5..22."""
    return round(min(max(duration, SOUND_MIN), SOUND_MAX), 2)


def _gemini(item: Item, model: str, prices: PriceTable) -> float:
    return prices.price("gemini", model, "per_image")


def _kling(item: Item, model: str, prices: PriceTable) -> float:
    name, _, mode = model.partition(":")
    seconds = kling_clip_seconds(float(item.input["duration"]))
    return prices.price("kling", name, mode or "std") * seconds


def _speech(item: Item, model: str, prices: PriceTable) -> float:
    characters = len(" ".join(str(item.input["text"]).replace("\x00", " ").split()))
    return prices.price("elevenlabs", "speech", model) * characters / 1000


def _sound(item: Item, model: str, prices: PriceTable) -> float:
    return prices.price("elevenlabs", "sound", model) * sound_seconds(float(item.input["duration"]))


def _music(item: Item, model: str, prices: PriceTable) -> float:
    seconds = min(max(float(item.input["duration"]), MUSIC_MIN), MUSIC_MAX)
    return prices.price("elevenlabs", "music", model) * seconds


_RULES: dict[tuple[str, str], Callable[[Item, str, PriceTable], float]] = {
    ("assets", "gemini"): _gemini,
    ("video", "kling"): _kling,
    ("narration", "elevenlabs"): _speech,
    ("sfx", "elevenlabs"): _sound,
}


def item_cost(item: Item, prices: PriceTable) -> float:
    """What running ``item`` would cost, in USD."""
    if item.provider == "local":
        return 0.0
    rule = _music if item.script == "generate_music" else _RULES.get((item.step, item.provider))
    model = model_of(item)
    if rule is None or model is None:
        raise ConfigError(f"no price rule for provider {item.provider!r} on step {item.step!r}")
    return round(rule(item, model, prices), 6)


def estimate_step(
    step: str, items: Iterable[Item], prices: PriceTable, *, cached: Iterable[str] = ()
) -> StepEstimate:
    """The step's estimate; items whose label is in ``cached`` cost nothing."""
    items = list(items)
    free = set(cached)
    cost = sum(item_cost(item, prices) for item in items if item.label not in free)
    first = items[0] if items else None
    return StepEstimate(
        step=step,
        provider=first.provider if first else "local",
        model=model_of(first) if first else None,
        items=len(items),
        cached=sum(1 for item in items if item.label in free),
        cost_usd=round(cost, 6),
    )
