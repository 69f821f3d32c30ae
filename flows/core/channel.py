"""What the pipeline needs to know about a channel (no credentials: those stay in blocks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flows.core.recovery import RetryPolicy

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_RETRIES", "ChannelConfig"]

# Items of a step run at once. Local providers share this machine's cores; remote ones wait
# on the network and can go wider.
DEFAULT_CONCURRENCY = {
    "local": {"assets": 4, "composites": 4, "video": 2, "narration": 4, "sfx": 4, "assembly": 1},
    "remote": {"assets": 4, "composites": 4, "video": 6, "narration": 6, "sfx": 6, "assembly": 1},
}
DEFAULT_RETRIES = {
    "assets": 3,
    "composites": 1,
    "video": 3,
    "narration": 3,
    "sfx": 3,
    "assembly": 1,
}


@dataclass(frozen=True)
class ChannelConfig:
    """A channel's outputs, providers, limits and budget."""

    name: str
    output_root: Path
    providers: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    budget_usd: float | None = None
    loudness_lufs: float | None = None  # plans that name none: this, else -14
    step_concurrency: dict[str, int] = field(default_factory=dict)
    step_retries: dict[str, int] = field(default_factory=dict)
    notion_board: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def provider(self, step: str) -> str:
        return self.providers.get(step, "local")

    def concurrency(self, step: str) -> int:
        if step in self.step_concurrency:
            return max(1, self.step_concurrency[step])
        kind = "local" if self.provider(step) == "local" else "remote"
        return DEFAULT_CONCURRENCY[kind].get(step, 2)

    def retries(self, step: str) -> int:
        return self.step_retries.get(step, DEFAULT_RETRIES.get(step, 2))
