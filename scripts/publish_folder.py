"""publish_folder: put an approved video in the channel's ``published/`` folder, atomically.

Input (stdin JSON): ``video`` (the MP4), ``subtitles`` (.srt path or null), ``thumbnail``
(.png/.jpg path or null), ``metadata`` (a JSON object: the video resource and more),
``folder`` (the channel's published folder), ``name`` (the entry's name, a plain folder name).
Output (stdout JSON line): ``output`` (the published MP4), ``entry`` (its folder), ``sha256``,
``files``, ``already`` (true when this very entry was published before), ``provider``
"folder", ``cost_usd`` 0.

The entry is built in a hidden temporary folder beside it and renamed into place in one
step: ``published/<name>/`` either holds every file (``<name>.mp4``, ``.srt``, the thumbnail,
``metadata.json``) or does not exist. Running it again for the same bytes is a no-op; an entry
holding other bytes is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from _contract import BadInput, Failure, Request, Result, get_str, input_file, serve

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,120}$")


def _copy(source: Path, target: Path) -> str:
    """Copy in blocks, returning the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(1 << 20):
            digest.update(block)
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest()


def _optional(request: Request, field: str, suffixes: tuple[str, ...]) -> Path | None:
    value = request.get(field)
    if value is None:
        return None
    path = input_file(value, field)
    if path.suffix.lower() not in suffixes:
        allowed = " or ".join(suffixes)
        raise BadInput(f"field {field!r} must end with {allowed}", type="invalid_field")
    return path


def _build(temp: Path, name: str, request: Request) -> tuple[str, list[str]]:
    video = input_file(get_str(request, "video"), "video")
    subtitles = _optional(request, "subtitles", (".srt",))
    thumbnail = _optional(request, "thumbnail", (".png", ".jpg", ".jpeg"))
    metadata = request.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadInput("field 'metadata' must be an object", type="invalid_field")
    temp.mkdir(parents=True)
    sha = _copy(video, temp / f"{name}.mp4")
    files = [f"{name}.mp4"]
    if subtitles:
        _copy(subtitles, temp / f"{name}.srt")
        files.append(f"{name}.srt")
    if thumbnail:
        _copy(thumbnail, temp / f"thumbnail{thumbnail.suffix.lower()}")
        files.append(f"thumbnail{thumbnail.suffix.lower()}")
    record = {**metadata, "sha256": sha, "size_bytes": video.stat().st_size, "files": files}
    (temp / "metadata.json").write_text(json.dumps(record, indent=2, ensure_ascii=False))
    return sha, [*files, "metadata.json"]


def _existing(entry: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((entry / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run(request: Request, provider: str, model: str | None) -> Result:
    name = get_str(request, "name")
    if not NAME.match(name):
        raise BadInput("field 'name' must be a plain folder name", type="invalid_field")
    folder = Path(get_str(request, "folder"))
    entry = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        sha, files = _build(temp, name, request)
        already = False
        try:
            temp.rename(entry)  # atomic; refuses a non-empty existing entry
        except OSError:
            found = _existing(entry)
            if found is None or found.get("sha256") != sha:
                raise Failure(f"{entry} already holds another video", type="conflict") from None
            already = True
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(temp)
    return {"output": str(entry / f"{name}.mp4"), "entry": str(entry), "sha256": sha,
            "files": files, "already": already, "provider": "folder", "model": None,
            "duration": None, "cost_usd": 0.0}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
