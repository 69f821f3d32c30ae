"""The one rule for channel names, shared by the CLI, the plan and the pipeline.

A channel name becomes a folder under the output root, so it is checked wherever one enters:
``reelflow channel create``, ``reelflow run/submit --channel``, a plan's ``channel:`` and the
pipeline where it decides a video's channel.
"""

from __future__ import annotations

import re

from flows.core.errors import ConfigError

__all__ = ["CHANNEL_NAME", "CHANNEL_RULE", "check_channel_name"]

CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
CHANNEL_RULE = "use lowercase letters, digits and dashes (at most 63, not starting with a dash)"


def check_channel_name(name: str) -> str:
    """``name`` if it is a valid channel name, else a ConfigError naming it and the rule."""
    if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
        raise ConfigError(f"channel name {name!r}: {CHANNEL_RULE}", channel=name)
    return name
