"""A local stand-in for Kling's image-to-video API.

Like the service (Kling developer docs, "General information" and "Image to Video"): every
request needs ``Authorization: Bearer JWT`` whose HS256 signature is checked with the secret
key and whose ``iss``/``nbf``/``exp`` must hold (else 401, codes 1000-1004); a task is
created with ``POST /v1/videos/image2video`` (the body is validated: model, mode, duration
"5"/"10", a base64 image without a data: prefix, at least 300 px a side) and queried with
``GET /v1/videos/image2video/{task_id or external_task_id}``; it goes submitted →
processing → succeed after ``polls`` queries, and its ``task_result.videos[0].url`` points
at a real MP4 of the clip's length served by this fake at ``/media/…`` (no auth, like a CDN).
Answers are ``{"code", "message", "request_id", "data"}``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.scripts.providers.service import FakeService, Handler, Seen, media

ACCESS_KEY = "AKFAKE-kling-canary-access-8e21"
SECRET_KEY = "SKFAKE-kling-canary-secret-40b7c9"
MODELS = ("kling-v2-5-turbo", "kling-v2-6", "kling-v2-1", "kling-v2-1-master", "kling-v1-6")
CODES = {400: 1201, 401: 1000, 403: 1103, 404: 1203, 429: 1302, 500: 5000, 503: 5001}
_ids = itertools.count(840_000_000_000_000_000)


@dataclass
class FakeKling(FakeService):
    name: str = "kling"
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    polls: int = 2  # queries before a task succeeds
    fail_tasks: str | None = None  # a task_status_msg: new tasks end "failed" with it
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)  # every JWT received (searched for leaks)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/v1/videos/image2video", self._create),
            ("GET", "/v1/videos/image2video", self._list),
            ("GET", "/v1/videos/image2video/{task}", self._query),
            ("GET", "/media/{name}", self._media),
        ]

    def authorised(self, request: Request) -> Response | None:
        if request.url.path.startswith("/media/"):
            return None
        header = request.headers.get("authorization", "")
        if not header:
            return self._refuse(401, "Authorization is empty", 1001)
        token = header.removeprefix("Bearer ")
        self.tokens.append(token)
        problem = verify_jwt(token, self.access_key, self.secret_key)
        return None if problem is None else self._refuse(401, problem[1], problem[0])

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"code": CODES.get(status, 5000), "message": message,
                "request_id": str(uuid.uuid4())}  # fmt: skip

    def created(self) -> list[dict[str, Any]]:
        """Tasks created (paid for), in order."""
        return list(self.tasks.values())

    def _refuse(self, status: int, message: str, code: int | None = None) -> Response:
        body = self.error(status, message)
        if code is not None:
            body["code"] = code
        return JSONResponse(body, status_code=status)

    def _ok(self, data: Any) -> dict[str, Any]:
        return {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}

    def _create(self, request: Request, seen: Seen) -> Any:
        body = seen.body if isinstance(seen.body, dict) else {}
        problem = _invalid(body)
        if problem:
            return self._refuse(400, problem)
        external = body.get("external_task_id")
        if external and any(t["task_info"].get("external_task_id") == external
                            for t in self.tasks.values()):  # fmt: skip
            return self._refuse(400, f"external_task_id {external} already exists")
        task_id = str(next(_ids))
        now = int(time.time() * 1000)
        self.tasks[task_id] = {
            "task_id": task_id, "task_status": "submitted", "task_status_msg": "",
            "task_info": {"external_task_id": external}, "created_at": now, "updated_at": now,
            "duration": body["duration"], "model_name": body.get("model_name", "kling-v1"),
            "mode": body.get("mode", "std"), "queries": 0, "fails": self.fail_tasks,
        }  # fmt: skip
        return self._ok(self._public(self.tasks[task_id]))

    def _list(self, request: Request, seen: Seen) -> Any:
        size = int(request.query_params.get("pageSize", 30))
        return self._ok([self._public(t) for t in list(self.tasks.values())[:size]])

    def _query(self, request: Request, seen: Seen) -> Any:
        wanted = request.path_params["task"]
        task = self.tasks.get(wanted) or next(
            (t for t in self.tasks.values() if t["task_info"].get("external_task_id") == wanted),
            None,
        )
        if task is None:
            return self._refuse(404, f"task {wanted} not found", 1203)
        task["queries"] += 1
        if task["task_status"] in ("submitted", "processing"):
            done = task["queries"] >= self.polls
            ended = "failed" if task["fails"] else "succeed"
            task["task_status"] = ended if done else "processing"
            task["task_status_msg"] = task["fails"] or ""
        return self._ok(self._public(task))

    async def _media(self, request: Request, seen: Seen) -> Response:
        seconds = float(request.path_params["name"].split("-")[0])
        clip = await asyncio.to_thread(media, "mp4", seconds)
        return Response(clip, media_type="video/mp4")

    def _public(self, task: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in task.items()
                  if k not in ("duration", "model_name", "mode", "queries", "fails")}  # fmt: skip
        if task["task_status"] == "succeed":
            units = {"5": "1.5", "10": "3"}[task["duration"]]
            public["final_unit_deduction"] = units
            url = f"{self.url}/media/{task['duration']}-{task['task_id']}.mp4"
            public["task_result"] = {"videos": [{"id": task["task_id"], "url": url,
                                                 "duration": task["duration"]}]}  # fmt: skip
        return public


def verify_jwt(token: str, access_key: str, secret_key: str) -> tuple[int, str] | None:
    """None for a valid token, else (Kling's code, message)."""
    try:
        header, claims, signature = token.split(".")
        signed = hmac.new(secret_key.encode(), f"{header}.{claims}".encode(), hashlib.sha256)
        if not hmac.compare_digest(_unb64(signature), signed.digest()):
            return 1002, "Authorization is invalid: bad signature"
        head, payload = json.loads(_unb64(header)), json.loads(_unb64(claims))
    except (ValueError, binascii.Error):
        return 1002, "Authorization is invalid"
    now = time.time()
    if head.get("alg") != "HS256" or payload.get("iss") != access_key:
        return 1000, "Authentication failed"
    if not isinstance(payload.get("nbf"), int) or payload["nbf"] > now:
        return 1003, "Authorization is not yet valid"
    if not isinstance(payload.get("exp"), int) or payload["exp"] <= now:
        return 1004, "Authorization has expired"
    return None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid(body: dict[str, Any]) -> str | None:
    if body.get("model_name", "kling-v1") not in (*MODELS, "kling-v1"):
        return f"model_name {body.get('model_name')} is not supported"
    if body.get("mode", "std") not in ("std", "pro") or body.get("duration") not in ("5", "10"):
        return "mode must be std or pro and duration 5 or 10"
    image = body.get("image")
    if not isinstance(image, str) or image.startswith("data:"):
        return "image must be a URL or base64 without a data: prefix"
    try:
        with Image.open(io.BytesIO(base64.b64decode(image, validate=True))) as picture:
            if picture.format not in ("PNG", "JPEG") or min(picture.size) < 300:
                return "image must be jpg/png, at least 300px on each side"
    except (ValueError, OSError):
        return "image is not valid base64 image data"
    return None
