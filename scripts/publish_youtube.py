"""publish_youtube: upload an approved MP4 to YouTube, resumably, and finish the video.

Input (stdin JSON), by ``action``:
- ``start``: ``file`` (the MP4), ``resource`` (the video resource: ``snippet``, ``status``),
  ``content_type`` (default video/mp4). Opens a resumable session; nothing is uploaded.
  Out: ``session_url``, ``total``.
- ``upload``: ``file``, ``session_url``, ``state`` (a JSON file this script keeps: the bytes
  the session confirmed, replaced atomically after each chunk), ``chunk_bytes`` (a multiple
  of 256 KiB). Asks the session where it is first, then sends the rest. Out: ``video_id``,
  ``total``. A 404 session is ``session_expired`` (exit 1): the caller opens a new one.
- ``finish``: ``video_id``, ``thumbnail`` (path or null), ``captions`` ({file, language,
  name} or null), ``playlist_id`` (or null), ``state``. Sets the thumbnail, inserts the
  captions and the playlist item, skipping what the state file says is done.
  Out: ``steps``.
Every result also has ``output`` (the watch URL once known), ``provider``, ``cost_usd`` 0.
Credentials only from the environment: REELFLOW_YOUTUBE_CLIENT_ID, _CLIENT_SECRET,
_REFRESH_TOKEN (REELFLOW_YOUTUBE_BASE_URL, _UPLOAD_URL, REELFLOW_GOOGLE_TOKEN_URL: proxies).
Quota: ``quota_exceeded`` (403) and ``upload_limit_exceeded`` (400), exit 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from _contract import BadInput, Request, Result, get_str, input_file, serve
from _youtube import QUANTUM, YouTube, access_token

WATCH = "https://www.youtube.com/watch?v="


def _check_resource(resource: Any) -> dict[str, Any]:
    """YouTube's limits on the snippet and status (VideoSnippet / VideoStatus references)."""
    if not isinstance(resource, dict) or not isinstance(resource.get("snippet"), dict):
        raise BadInput("field 'resource' must hold a snippet", type="invalid_field")
    snippet, status = resource["snippet"], resource.get("status") or {}
    title, description = str(snippet.get("title", "")), str(snippet.get("description", ""))
    if not title.strip() or len(title) > 100 or any(c in title for c in "<>"):
        raise BadInput("resource.snippet.title: 1..100 characters, no < or >", type="invalid_field")
    if len(description.encode()) > 5000 or any(c in description for c in "<>"):
        raise BadInput("resource.snippet.description: at most 5000 bytes, no < or >",
                       type="invalid_field")  # fmt: skip
    if status.get("publishAt") and status.get("privacyStatus") != "private":
        message = "resource.status.publishAt needs privacyStatus private"
        raise BadInput(message, type="invalid_field")
    return resource


def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically (temp, fsync, rename): never half a state."""
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with temp.open("w", encoding="utf-8") as out:
        json.dump(state, out)
        out.flush()
        os.fsync(out.fileno())
    temp.replace(path)


def _start(request: Request, client: YouTube) -> Result:
    video = input_file(get_str(request, "file"), "file")
    resource = _check_resource(request.get("resource"))
    total = video.stat().st_size
    url = client.start(resource, total, get_str(request, "content_type", "video/mp4"))
    return {"session_url": url, "total": total, "output": None}


def _upload(request: Request, client: YouTube) -> Result:
    video = input_file(get_str(request, "file"), "file")
    session, state_path = get_str(request, "session_url"), Path(get_str(request, "state"))
    chunk = request.get("chunk_bytes", 8 * QUANTUM)
    if not isinstance(chunk, int) or chunk <= 0 or chunk % QUANTUM:
        raise BadInput("field 'chunk_bytes' must be a multiple of 262144", type="invalid_field")
    total = video.stat().st_size
    state = {**_read_state(state_path), "session_url": session, "total": total}

    def progress(confirmed: int) -> None:
        if confirmed != state.get("confirmed"):
            state["confirmed"] = confirmed
            _write_state(state_path, state)

    done = client.upload_file(session, video, total, chunk, progress)
    remote = str(done.get("id") or "")
    if not remote:
        raise BadInput("youtube: the finished upload has no video id", type="bad_response")
    state["remote_id"] = remote
    _write_state(state_path, state)
    return {"video_id": remote, "total": total, "output": WATCH + remote}


def _finish(request: Request, client: YouTube) -> Result:
    """The calls after the upload, each once: the state file records what is done."""
    remote, state_path = get_str(request, "video_id"), Path(get_str(request, "state"))
    state = _read_state(state_path)
    steps: dict[str, Any] = dict(state.get("steps") or {})
    thumbnail, captions = request.get("thumbnail"), request.get("captions")
    if thumbnail and "thumbnail" not in steps:
        client.thumbnail(remote, input_file(thumbnail, "thumbnail"))
        steps["thumbnail"] = True
        _write_state(state_path, {**state, "steps": steps})
    if isinstance(captions, dict) and "captions" not in steps:
        srt = input_file(captions.get("file"), "captions.file")
        language = str(captions.get("language") or "en")
        steps["captions"] = client.caption(remote, srt, language, str(captions.get("name", "")))
        _write_state(state_path, {**state, "steps": steps})
    playlist = request.get("playlist_id")
    if playlist and "playlist" not in steps:
        steps["playlist"] = client.playlist_item(str(playlist), remote)
        _write_state(state_path, {**state, "steps": steps})
    return {"steps": steps, "video_id": remote, "output": WATCH + remote}


ACTIONS = {"start": _start, "upload": _upload, "finish": _finish}


def run(request: Request, provider: str, model: str | None) -> Result:
    action = get_str(request, "action")
    if action not in ACTIONS:
        raise BadInput(f"field 'action' must be one of {', '.join(ACTIONS)}", type="invalid_field")
    if action == "start":
        _check_resource(request.get("resource"))  # before any request: the token too
    token, secrets = access_token()
    client = YouTube(token, secrets)
    try:
        result = ACTIONS[action](request, client)
    finally:
        client.close()
    return {"provider": "youtube", "model": None, "duration": None, "cost_usd": 0.0, **result}


def main(argv: list[str] | None = None) -> int:
    return serve(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
