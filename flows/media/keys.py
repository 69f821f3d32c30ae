"""The signing key of media links, kept in a Prefect Secret block, and this process's links.

The key is made on first use (``secrets.token_urlsafe``) and saved as the Secret block
``reelflow-media-key``; two processes making it at once both end up with the one saved
first. Rotating it (``prefect block delete secret/reelflow-media-key``) breaks every link
handed out before.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from prefect.blocks.system import Secret
from prefect.exceptions import ObjectNotFound

from flows.core.settings import Settings, get_settings
from flows.media.links import MediaLinks

__all__ = ["KEY_BLOCK", "load_key", "media_link", "media_links"]

KEY_BLOCK = "reelflow-media-key"


_key: bytes | None = None


async def load_key() -> bytes:
    """The media key, made and saved on first use (read once per process)."""
    global _key
    if _key is None:
        _key = await _load_or_make_key()
    return _key


async def _load_or_make_key() -> bytes:
    try:
        block = await Secret.aload(KEY_BLOCK)
    except (ObjectNotFound, ValueError):
        # Another process may save one first: then that one is the key.
        with contextlib.suppress(ValueError):
            await Secret(value=secrets.token_urlsafe(32)).asave(KEY_BLOCK, overwrite=False)
        block = await Secret.aload(KEY_BLOCK)
    secret: Secret[str] = block
    return str(secret.get()).encode()


async def media_links(
    settings: Settings | None = None, *, serve_url: str | None = None
) -> MediaLinks | None:
    """Links for this process: plain ones under ``REELFLOW_MEDIA_URL`` when it is set, else
    links signed for ``reelflow media serve`` at ``REELFLOW_MEDIA_SERVE_URL`` (or
    ``serve_url``); None when neither is known (then files are shown by their path)."""
    settings = settings or get_settings()
    ttl = settings.media_link_hours * 3600
    if settings.media_url:
        return MediaLinks(settings.output_dir, settings.media_url, None, ttl)
    base = settings.media_serve_url or serve_url
    if not base:
        return None
    return MediaLinks(settings.output_dir, base, await load_key(), ttl)


async def media_link(path: str | Path | None) -> str | None:
    """A reviewer's link to ``path`` when media links are configured, else its path."""
    if not path:
        return None
    links = await media_links()
    return (links.url_for(Path(path)) if links else None) or str(path)
