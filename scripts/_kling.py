"""Kling image-to-video for generate_video (provider ``kling``).

API (Kling AI developer docs "General information" and "Image to Video", as summarised in
inference-sh/grid api/klingai/docs/00-general.md and 04-video-image2video.md):

    Authorization: Bearer JWT, HS256 over {"iss": ACCESS_KEY, "exp": now+1800, "nbf": now-5}
                   signed with the SECRET_KEY (built here with hmac, no JWT library)
    POST {base}/v1/videos/image2video
         {"model_name", "mode": "std"|"pro", "duration": "5"|"10", "image": BASE64 (no
          "data:" prefix; jpg/png, <= 10 MB, sides >= 300 px), "prompt", "external_task_id"}
    GET  {base}/v1/videos/image2video/{task_id or external_task_id}
    → {"code": 0, "message", "request_id", "data": {"task_id", "task_status": "submitted" |
       "processing" | "succeed" | "failed", "task_status_msg", "final_unit_deduction",
       "task_result": {"videos": [{"id", "url", "duration"}]}}}

Errors carry {"code", "message"}: 1000-1004 auth (401), 1100-1102 account/arrears/no
resource pack (429, but retrying cannot help: permanent here), 1302/1303 rate and concurrency
limits (429, transient), 5000-5002 server (5xx, transient).

Each request gets an ``external_task_id`` derived from what it asks for. Before creating a
task we look that id up: a retry after a timeout or a network error picks up the task it
already paid for instead of paying for another, and a clip that finished while we were away
is simply downloaded. A task Kling marked failed stays failed (change the plan to try anew).
The wait is bounded ($REELFLOW_KLING_MAX_WAIT_SECONDS, default 540 s, under the registry's
600 s); past it the script exits 75 and the retry resumes polling the same task.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import _http
import _prices
from _contract import BadInput, Failure, Transient, log

DEFAULT_MODEL, MODES, DEFAULT_MODE = "kling-v2-5-turbo", ("std", "pro"), "std"
DEFAULT_BASE_URL = "https://api-singapore.klingai.com"
ACCESS_ENV, SECRET_ENV = "REELFLOW_KLING_ACCESS_KEY", "REELFLOW_KLING_SECRET_KEY"
BASE_ENV = "REELFLOW_KLING_BASE_URL"
TASKS = "/v1/videos/image2video"
TOKEN_SECONDS = 1800
MIN_SIDE, MAX_IMAGE_BYTES, MAX_CLIP_BYTES = 300, 10 * 1024 * 1024, 500 * 1024 * 1024
NO_CREDIT = frozenset({1100, 1101, 1102})


def parse_model(model: str | None) -> tuple[str, str]:
    """``"kling-v2-1:pro"`` → ("kling-v2-1", "pro"); the mode defaults to std."""
    name, _, mode = (model or DEFAULT_MODEL).partition(":")
    mode = mode or DEFAULT_MODE
    if mode not in MODES:
        raise BadInput(f"unknown Kling mode {mode!r} (use std or pro)", type="unknown_model")
    return name, mode


def clip_seconds(duration: float) -> int:
    """Kling makes 5 s or 10 s clips: the shortest that covers the scene (10 s at most)."""
    return 5 if duration <= 5 else 10


def jwt(access_key: str, secret_key: str, now: float | None = None) -> str:
    """The API token: an HS256 JWT with iss, exp and nbf (RFC 7519), standard library only."""
    issued = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": access_key, "exp": issued + TOKEN_SECONDS, "nbf": issued - 5}
    parts = (json.dumps(p, separators=(",", ":")).encode() for p in (header, claims))
    signing = b".".join(_b64(part) for part in parts)
    signature = hmac.new(secret_key.encode(), signing, hashlib.sha256).digest()
    return (signing + b"." + _b64(signature)).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def clip(spec: dict[str, Any], temp: Path, model: str | None) -> dict[str, Any]:
    """Make the clip with Kling and download it into ``temp``."""
    name, mode = parse_model(model)
    seconds = clip_seconds(spec["duration"])
    cost = _prices.kling_clip(name, mode, seconds)  # priced before anything is spent
    access, secret = _http.secret(ACCESS_ENV), _http.secret(SECRET_ENV)
    body: dict[str, Any] = {
        "model_name": name, "mode": mode, "duration": str(seconds),
        "image": _image_payload(spec["image"]),
        "prompt": f"{spec['motion']}; smooth cinematic camera movement over the scene as pictured",
    }  # fmt: skip
    body["external_task_id"] = (
        "reelflow-" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:40]
    )
    token = jwt(access, secret)
    base = _http.base_url(BASE_ENV, DEFAULT_BASE_URL)
    with _http.Session("kling", base, headers={"Authorization": f"Bearer {token}"},
                       secrets=[access, secret, token], read_timeout=60.0,
                       permanent=_out_of_credit) as session:  # fmt: skip
        task = _existing(session, body["external_task_id"]) or _data(
            session, session.request("POST", TASKS, json=body)
        )
        done = _wait(session, task)
        video = done["task_result"]["videos"][0]
        session.download(str(video["url"]), temp, limit=MAX_CLIP_BYTES)
    return {
        "model": name, "mode": mode, "cost_usd": cost, "motion": spec["motion"],
        "clip_seconds": seconds, "task_id": done.get("task_id"),
        "kling_units": done.get("final_unit_deduction"),
    }  # fmt: skip


def _image_payload(path: Path) -> str:
    """The still as base64: PNG/JPEG, at least 300 px a side, at most 10 MB."""
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        if not 1 / 2.5 <= width / height <= 2.5:
            raise BadInput("field 'image': Kling needs an aspect ratio within 1:2.5..2.5:1",
                           type="invalid_input_file")  # fmt: skip
        data = path.read_bytes()
        if min(width, height) < MIN_SIDE or image.format not in ("PNG", "JPEG"):
            scale = max(1.0, MIN_SIDE / min(width, height))
            size = (round(width * scale), round(height * scale))
            data = _encode(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), "PNG")
        if len(data) > MAX_IMAGE_BYTES:
            data = _encode(image.convert("RGB"), "JPEG")
    return base64.b64encode(data).decode()


def _encode(image: Any, kind: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=kind, quality=90)
    return out.getvalue()


def _out_of_credit(response: Any) -> bool:
    """A 429 about the account (arrears, no resource pack): retrying will not help."""
    try:
        return int(response.json().get("code")) in NO_CREDIT
    except (ValueError, TypeError, AttributeError):
        return False


def _data(session: _http.Session, response: Any) -> dict[str, Any]:
    answer = session.json(response)
    body: dict[str, Any] = answer if isinstance(answer, dict) else {}
    if body.get("code") != 0 or not isinstance(body.get("data"), dict):
        said = session.scrub(f"kling: code {body.get('code')}: {body.get('message')}")
        raise Failure(said, type="rejected")
    data: dict[str, Any] = body["data"]
    return data


def _existing(session: _http.Session, external_id: str) -> dict[str, Any] | None:
    """The task an earlier attempt made for this same request, if Kling knows one."""
    try:
        task = _data(session, session.request("GET", f"{TASKS}/{external_id}"))
    except Failure as exc:
        if exc.type in ("unauthorized", "forbidden"):
            raise
        return None  # not found (Kling answers 404 or a 4xx code): create it
    if task.get("task_status") in ("submitted", "processing", "succeed", "failed"):
        log(f"kling: resuming task {task.get('task_id')} ({task.get('task_status')})")
        return task
    return None


def _wait(session: _http.Session, task: dict[str, Any]) -> dict[str, Any]:
    """Poll until the task succeeds or fails, for at most the bounded wait."""
    poll = float(os.environ.get("REELFLOW_KLING_POLL_SECONDS") or 5)
    deadline = time.monotonic() + float(os.environ.get("REELFLOW_KLING_MAX_WAIT_SECONDS") or 540)
    task_id, seen = task.get("task_id"), None
    while True:
        status = task.get("task_status")
        if status != seen:
            log(f"kling: task {task_id} {status}")
            seen = status
        if status == "succeed" and (task.get("task_result") or {}).get("videos"):
            return task
        if status in ("failed", "succeed"):
            message = task.get("task_status_msg") or "no video in the result"
            raise Failure(session.scrub(f"kling: task {task_id} failed: {message}"),
                          type="task_failed")  # fmt: skip
        if time.monotonic() > deadline:
            raise Transient(f"kling: task {task_id} still {status}; a retry resumes it",
                            type="timeout")  # fmt: skip
        time.sleep(poll)
        task = _data(session, session.request("GET", f"{TASKS}/{task_id}"))
