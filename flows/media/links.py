"""Signed links into the output folder.

A link is ``<base>/media/<path>?exp=<unix seconds>&sig=<hex>``, where ``sig`` is the
HMAC-SHA256 of the path relative to the output root and the expiry. A link names one
file and stops working at its expiry; a changed path or expiry breaks the signature.
With an external base (``REELFLOW_MEDIA_URL``: a bucket, a CDN) links are plain
``<base>/<path>`` and unsigned: that server decides who may read.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

__all__ = ["MediaLinks", "check_signature", "relative_media_path", "sign"]

PREFIX = "/media/"


def sign(relpath: str, expires: int, key: bytes) -> str:
    """The signature of one file's link until ``expires`` (unix seconds)."""
    message = f"{relpath}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check_signature(
    relpath: str,
    expires: str | None,
    signature: str | None,
    key: bytes,
    *,
    now: float | None = None,
) -> bool:
    """Whether a link's ``exp`` and ``sig`` are this key's and not expired."""
    if not expires or not signature or not expires.isdigit():
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(sign(relpath, int(expires), key), signature)


def relative_media_path(relpath: str) -> PurePosixPath | None:
    """``relpath`` as a plain relative path, or None if it could point outside its root."""
    if not relpath or "\\" in relpath or "\x00" in relpath:
        return None
    path = PurePosixPath(relpath)
    if path.is_absolute() or any(part in ("", ".", "..") for part in relpath.split("/")):
        return None
    return path


@dataclass(frozen=True)
class MediaLinks:
    """Links to files under ``root``: signed with ``key`` on our own server, else plain."""

    root: Path
    base_url: str
    key: bytes | None
    ttl_seconds: float

    def url_for(self, path: Path, *, now: float | None = None) -> str | None:
        """A link to ``path``, or None when it is not a file under the output root."""
        try:
            relative = path.resolve().relative_to(self.root.resolve())
        except ValueError:
            return None
        relpath = relative.as_posix()
        if relative_media_path(relpath) is None:
            return None
        base = self.base_url.rstrip("/")
        if self.key is None:
            return f"{base}/{quote(relpath)}"
        expires = int((time.time() if now is None else now) + self.ttl_seconds)
        signature = sign(relpath, expires, self.key)
        return f"{base}{PREFIX}{quote(relpath)}?exp={expires}&sig={signature}"
