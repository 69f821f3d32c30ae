"""Reading an outline and writing a plan file, safely: a bounded, UTF-8 outline; a plan
written to a temporary file beside its target and renamed onto it, so a half-written plan is
never taken for a finished one, and an existing file is kept unless asked."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from flows.core.errors import ManifestError
from flows.core.manifest_file import read_bounded_text

__all__ = ["read_outline", "write_plan"]


def read_outline(path: Path) -> str:
    """The outline's text: at most ``MAX_PLAN_BYTES``, UTF-8 (a BOM is allowed)."""
    return read_bounded_text(path, what="an outline")


def write_plan(target: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``target`` atomically; an existing file needs ``force``."""
    if target.exists() and not force:
        raise ManifestError(f"{target} exists: give --force to replace it, or another --out")
    if target.is_dir():
        raise ManifestError(f"{target} is a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            temp.write_text(text, encoding="utf-8")
            temp.replace(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    except OSError as exc:
        raise ManifestError(f"{target}: cannot write it: {exc.strerror or exc}") from exc
