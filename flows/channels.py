"""A channel's configuration and credentials, from its blocks (defaults without them).

``resolve_channel`` turns a Channel block into the pipeline's ChannelConfig (no secrets in
it: it travels as a task parameter). ``provider_environment`` reads the channel's credential
blocks into the environment variables a provider's script expects; they reach the script and
nothing else, and the runner masks their values in every log line and record.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from blocks import Channel, ElevenLabsCredentials, GeminiCredentials, KlingCredentials
from flows.core.channel import ChannelConfig
from flows.core.errors import ConfigError
from flows.core.publishing import PUBLISHERS, PublisherConfig
from flows.core.recovery import RetryPolicy
from flows.core.settings import get_settings

__all__ = [
    "PROVIDER_ENV",
    "credentials_block_type",
    "load_channel_block",
    "provider_environment",
    "resolve_channel",
    "resolve_publisher",
    "retry_policy",
    "secret_variables",
]

# The environment each provider's scripts read (also what a person sets to run one by hand).
PROVIDER_ENV = {
    "gemini": {"api_key": "REELFLOW_GEMINI_API_KEY", "base_url": "REELFLOW_GEMINI_BASE_URL"},
    "kling": {
        "access_key": "REELFLOW_KLING_ACCESS_KEY",
        "secret_key": "REELFLOW_KLING_SECRET_KEY",
        "base_url": "REELFLOW_KLING_BASE_URL",
    },
    "elevenlabs": {
        "api_key": "REELFLOW_ELEVENLABS_API_KEY",
        "base_url": "REELFLOW_ELEVENLABS_BASE_URL",
    },
}
_CREDENTIALS: dict[str, tuple[str, Any]] = {
    "gemini": ("gemini_credentials", GeminiCredentials),
    "kling": ("kling_credentials", KlingCredentials),
    "elevenlabs": ("elevenlabs_credentials", ElevenLabsCredentials),
}
_TTL = 60.0
_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def credentials_block_type(provider: str) -> Any:
    """The credentials block class of ``provider`` (``GeminiCredentials``, ...)."""
    return _CREDENTIALS[provider][1]


def secret_variables(provider: str) -> dict[str, str]:
    """``provider``'s credential fields → the environment variables that carry them."""
    return {field: var for field, var in PROVIDER_ENV[provider].items() if field != "base_url"}


async def load_channel_block(name: str) -> Channel | None:
    """The Channel block called ``name``, or None when there is none."""
    block = await _load(Channel, name)
    return block if isinstance(block, Channel) else None


async def resolve_channel(name: str) -> ChannelConfig:
    """The channel's configuration; a channel without a block uses local providers."""
    settings = get_settings()
    block = await load_channel_block(name)
    if block is None:
        return ChannelConfig(name=name, output_root=settings.output_dir, retry=retry_policy(None))
    return ChannelConfig(
        name=name,
        output_root=Path(block.output_root).expanduser().resolve()
        if block.output_root
        else settings.output_dir,
        providers=dict(block.providers),
        models=dict(block.models),
        budget_usd=block.budget_usd,
        loudness_lufs=block.loudness_lufs,
        step_concurrency=dict(block.step_concurrency),
        step_retries=dict(block.step_retries),
        notion_board=block.notion_board,
        retry=retry_policy(block),
    )


async def resolve_publisher(name: str) -> PublisherConfig:
    """Where the channel's approved videos go. A channel's block names its publisher (else
    youtube when it names YouTube credentials); without a block, ``REELFLOW_PUBLISHER``
    (``auto``: youtube when the REELFLOW_YOUTUBE_* credentials are set). Default: folder."""
    settings = get_settings()
    block = await load_channel_block(name)
    root = Path(block.output_root).expanduser().resolve() if block and block.output_root else None
    root = root or settings.output_dir
    if block is None:
        keyed = settings.youtube_client_id and settings.youtube_refresh_token
        chosen = settings.publisher if settings.publisher != "auto" else None
        publisher: str = chosen or ("youtube" if keyed else "folder")
        return PublisherConfig(channel=name, publisher=publisher, output_root=root)
    publisher = block.publisher or ("youtube" if block.youtube_credentials else "folder")
    if publisher not in PUBLISHERS:
        raise ConfigError(f"channel {name!r}: unknown publisher {publisher!r}: folder or youtube")
    return PublisherConfig(
        channel=name, publisher=publisher, output_root=root,
        privacy=block.privacy_status,  # type: ignore[arg-type]  # checked on save
        synthetic_media=block.contains_synthetic_media,
        credentials_block=block.youtube_credentials, base_urls=dict(block.base_urls),
    )  # fmt: skip


def retry_policy(block: Channel | None) -> RetryPolicy:
    """The channel's policy for later retries and recoveries (settings fill the gaps)."""
    settings = get_settings()
    base = settings.retry_later_base_seconds
    age = settings.retry_later_max_age_hours * 3600
    recoveries = settings.max_recoveries
    if block is None:
        return RetryPolicy(base_s=base, max_age_s=age, max_recoveries=recoveries)
    return RetryPolicy(
        retry_later=block.retry_later,
        base_s=block.retry_base_minutes * 60 if block.retry_base_minutes else base,
        max_age_s=block.retry_max_age_hours * 3600 if block.retry_max_age_hours else age,
        max_recoveries=recoveries if block.max_recoveries is None else block.max_recoveries,
    )


async def provider_environment(channel: str, provider: str) -> dict[str, str]:
    """Environment variables carrying ``provider``'s credentials and base URL for a script.

    Values come from the channel's credential block; without one, from this process's
    ``REELFLOW_*`` variables (which the script inherits anyway).
    """
    names = PROVIDER_ENV.get(provider)
    if names is None:
        return {}
    block = await load_channel_block(channel)
    env: dict[str, str] = {}
    if block is not None:
        field, kind = _CREDENTIALS[provider]
        reference = getattr(block, field)
        if reference:
            credentials = await _load(kind, reference)
            if credentials is None:
                raise ConfigError(f"channel {channel!r}: no {kind.__name__} block {reference!r}")
            for attribute, variable in secret_variables(provider).items():
                env[variable] = getattr(credentials, attribute).get_secret_value()
        if provider in block.base_urls:
            env[names["base_url"]] = block.base_urls[provider]
    missing = [
        v for v in secret_variables(provider).values() if not (env.get(v) or os.environ.get(v))
    ]
    if missing:
        raise ConfigError(
            f"channel {channel!r} uses {provider} but has no credentials: set "
            f"{', '.join(missing)} or give the channel a credentials block"
        )
    return env


async def _load(kind: Any, name: str) -> Any:
    """Load a block, cached for a minute (every item of a step asks)."""
    key = (kind.__name__, name)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < _TTL:
        return hit[1]
    try:
        block = await kind.aload(name)
    except ValueError:
        block = None
    _cache[key] = (time.monotonic(), block)
    return block


def forget_blocks() -> None:
    """Drop cached blocks (after ``reelflow channel create`` changes one, and in tests)."""
    _cache.clear()
