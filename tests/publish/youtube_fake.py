"""A stand-in for YouTube (Data API v3, its upload endpoint) and Google's token endpoint,
written from the published protocol. Every rule says where it comes from:

[RU]  the resumable upload guide (developers.google.com/youtube/v3/guides/
      using_resumable_upload_protocol): session POST, chunked PUTs, 308 + Range, status query
[VI]  videos.insert reference (VideoSnippet / VideoStatus limits)
[TS]  thumbnails.set reference; [CI] captions.insert reference; [PI] playlistItems.insert
[QU]  quota page and revision history (2026-06-01: videos.insert its own 100/day bucket;
      10,000 shared units; captions.insert 400, thumbnails.set 50); error bodies as Google
      sends them (googleapis/google-api-php-client#2055; shotwell#5019 for uploadLimitExceeded)
[OA]  OAuth 2.0 token endpoint (RFC 6749 §5.2 error body; Google's "Token has been expired or
      revoked." for invalid_grant)

Uploads are written to disk as they arrive (never held whole), so a test compares the
SHA-256 of what YouTube stored with our MP4, and a benchmark can send big files.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

QUANTUM = 256 * 1024  # [RU] every chunk but the last: a multiple of 256 KiB
FORCE_SSL = "https://www.googleapis.com/auth/youtube.force-ssl"
UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


def google_error(code: int, reason: str, message: str, domain: str = "youtube.video") -> Any:
    """Google's error body: ``{"error": {"code", "message", "errors": [{…, "reason"}]}}``."""
    errors = [{"message": message, "domain": domain, "reason": reason}]
    return {"error": {"code": code, "message": message, "errors": errors}}


def quota_exceeded() -> JSONResponse:  # [QU] 403, domain youtube.quota
    return JSONResponse(google_error(403, "quotaExceeded", QUOTA_MESSAGE, "youtube.quota"), 403)


def upload_limit_exceeded() -> JSONResponse:  # [QU] 400, the channel's 24-hour upload cap
    message = "The user has exceeded the number of videos they may upload."
    return JSONResponse(google_error(400, "uploadLimitExceeded", message), 400)


@dataclass
class Session:
    """[RU] one resumable session: what it has received, and the video once complete."""

    id: str
    total: int
    resource: dict[str, Any]
    path: Path
    received: int = 0
    video_id: str | None = None
    expired: bool = False


@dataclass
class Video:
    id: str
    resource: dict[str, Any]
    path: Path
    sha256: str
    thumbnail: bytes | None = None
    captions: list[dict[str, Any]] = field(default_factory=list)


class FakeYouTube:
    """The stand-in. Knobs: ``revoked`` (invalid_grant), ``uploads_left`` (the videos.insert
    bucket), ``upload_cap`` (the channel's cap), ``units_left`` (shared units), ``drop_next``
    (chunks received and thrown away), ``lose_answers`` (chunks stored, then 503),
    ``fail_puts`` (5xx without storing), ``expire`` a session, ``hold`` (PUTs wait)."""

    def __init__(
        self, refresh_token: str = "rtoken", scopes: tuple[str, ...] = (UPLOAD, FORCE_SSL)
    ) -> None:
        client_id, client_secret = "cid", "csecret"
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_tokens = {refresh_token: set(scopes)}
        self.tokens: dict[str, set[str]] = {}
        self.codes: dict[str, str] = {}  # authorization code → refresh token it grants
        self.revoked = False
        self.uploads_left, self.upload_cap, self.units_left = 100, 1000, 10_000
        self.drop_next = self.lose_answers = self.fail_puts = 0
        self.hold = threading.Event()
        self.hold.set()  # cleared: PUTs wait (a test kills the uploader meanwhile)
        self.hold_after = 1 << 62  # once a session has this many bytes, clear ``hold``
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, Video] = {}
        self.log: list[tuple[str, str, int]] = []  # (method, path, status)
        self.root = Path(tempfile.mkdtemp(prefix="reelflow-fake-youtube-"))
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self.port = 0

    # --- control ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The variables that point Reelflow (and its script) here."""
        return {
            "YOUTUBE_CLIENT_ID": self.client_id, "YOUTUBE_CLIENT_SECRET": self.client_secret,
            "YOUTUBE_REFRESH_TOKEN": next(iter(self.refresh_tokens)),
            "YOUTUBE_BASE_URL": f"{self.url}/youtube/v3",
            "YOUTUBE_UPLOAD_URL": f"{self.url}/upload/youtube/v3",
            "GOOGLE_TOKEN_URL": f"{self.url}/token",
        }  # fmt: skip

    def start(self) -> FakeYouTube:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        routes = [
            Route("/token", self._token, methods=["POST"]),
            Route("/upload/youtube/v3/videos", self._videos, methods=["POST", "PUT"]),
            Route("/upload/youtube/v3/thumbnails/set", self._thumbnail, methods=["POST"]),
            Route("/upload/youtube/v3/captions", self._caption, methods=["POST"]),
            Route("/youtube/v3/playlistItems", self._playlist_item, methods=["POST"]),
        ]
        config = uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=self.port,
                                log_level="error", lifespan="off")  # fmt: skip
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._server.run, daemon=True).start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the fake YouTube did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.hold.set()
        if self._server is not None:
            self._server.should_exit = True

    def expire(self, session_url: str) -> None:
        """[RU] "sessions expire": the session answers 404 from now on."""
        self.sessions[session_url.rsplit("upload_id=", 1)[1]].expired = True

    def calls(self, method: str, path: str) -> list[int]:
        return [status for m, p, status in self.log if m == method and p == path]

    # --- the endpoints ------------------------------------------------------------------

    def _record(self, request: Request, response: Response) -> Response:
        with self._lock:
            self.log.append((request.method, request.url.path, response.status_code))
        return response

    async def _token(self, request: Request) -> Response:
        """[OA] refresh_token and authorization_code grants; RFC 6749 error bodies."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            body = {"error": "invalid_client", "error_description": "Unauthorized"}
            return self._record(request, JSONResponse(body, 401))
        refresh = form.get("refresh_token") if form.get("grant_type") == "refresh_token" else (
            self.codes.pop(form.get("code", ""), None))  # fmt: skip
        if self.revoked or refresh not in self.refresh_tokens:
            body = {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
            return self._record(request, JSONResponse(body, 400))
        token = "ya29." + secrets.token_urlsafe(24)
        self.tokens[token] = self.refresh_tokens[refresh]
        body: dict[str, Any] = {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                                "scope": " ".join(sorted(self.tokens[token]))}  # fmt: skip
        if form.get("grant_type") == "authorization_code":
            body["refresh_token"] = refresh
        return self._record(request, JSONResponse(body))

    def _refused(self, request: Request) -> Response | None:
        """401 UNAUTHENTICATED unless the bearer token is one we issued."""
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer ") and header[7:] in self.tokens:
            return None
        message = "Request had invalid authentication credentials."
        body = google_error(401, "authError", message, "global")
        body["error"]["status"] = "UNAUTHENTICATED"
        return JSONResponse(
            body, 401, headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
        )

    async def _videos(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return self._record(request, refused)
        if request.method == "POST":
            return self._record(request, await self._start(request))
        return self._record(request, await self._put(request))

    async def _start(self, request: Request) -> Response:
        """[RU] step 1: the session POST. [VI] the snippet's and status's limits."""
        if request.query_params.get("uploadType") != "resumable":
            return JSONResponse(
                google_error(400, "badRequest", "uploadType must be resumable"), 400
            )
        try:
            total = int(request.headers["x-upload-content-length"])
            kind = request.headers["x-upload-content-type"]
            resource = json.loads(await request.body())
        except (KeyError, ValueError):
            return JSONResponse(
                google_error(400, "badRequest", "missing upload headers or body"), 400
            )
        if not (kind.startswith("video/") or kind == "application/octet-stream"):
            return JSONResponse(google_error(400, "invalidVideoType", f"{kind}"), 400)
        problem = _resource_problem(resource)
        if problem:
            return JSONResponse(google_error(400, problem, problem), 400)
        if self.uploads_left <= 0:  # [QU] the videos.insert bucket (100 a day)
            return quota_exceeded()
        if self.upload_cap <= 0:  # [QU] the channel's own cap
            return upload_limit_exceeded()
        self.uploads_left -= 1
        upload_id = secrets.token_urlsafe(16)
        path = self.root / f"{upload_id}.part"
        path.touch()
        self.sessions[upload_id] = Session(upload_id, total, resource, path)
        location = f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        return Response(status_code=200, headers={"Location": location})

    async def _put(self, request: Request) -> Response:
        """[RU] step 2/3: a chunk, or the status query ``bytes */TOTAL``."""
        session = self.sessions.get(request.query_params.get("upload_id", ""))
        if session is not None and session.received >= self.hold_after:
            self.hold.clear()  # from here on PUTs wait (the uploader may be killed meanwhile)
        while not self.hold.is_set():  # noqa: ASYNC110 - set from the test's thread
            await asyncio.sleep(0.05)
        if session is None or session.expired:  # [RU] 404: the session expired
            return JSONResponse(google_error(404, "notFound", "Not Found", "global"), 404)
        ranged = request.headers.get("content-range", "")
        if ranged.startswith("bytes */"):
            await request.body()
            return self._where(session)
        try:
            first, last = (int(x) for x in ranged[6:].split("/")[0].split("-"))
            total = int(ranged.split("/")[1])
        except (ValueError, IndexError):
            return JSONResponse(google_error(400, "badContentRange", ranged), 400)
        if total != session.total or last < first or last >= total:
            return JSONResponse(google_error(400, "badContentRange", ranged), 400)
        size = last - first + 1
        if last + 1 < total and size % QUANTUM:  # [RU] non-final chunks: multiples of 256 KiB
            return JSONResponse(google_error(400, "badChunkSize", "not a multiple of 256 KiB"), 400)
        return await self._chunk(request, session, first, size)

    async def _chunk(self, request: Request, session: Session, first: int, size: int) -> Response:
        if self.fail_puts > 0:  # an injected 5xx: nothing stored
            self.fail_puts -= 1
            await request.body()
            return JSONResponse(google_error(503, "backendError", "Backend Error", "global"), 503)
        drop = self.drop_next > 0 or first != session.received  # lost, or not where we are
        if self.drop_next > 0:
            self.drop_next -= 1
        written = 0
        with session.path.open("r+b") as out:
            out.seek(first)
            async for block in request.stream():
                written += len(block)
                if not drop:
                    out.write(block)
        if written != size:
            return JSONResponse(google_error(400, "badContentRange", "body and range differ"), 400)
        if not drop:
            session.received = first + size
        if self.lose_answers > 0:  # stored, but the answer never makes it back
            self.lose_answers -= 1
            return JSONResponse(google_error(503, "backendError", "Backend Error", "global"), 503)
        return self._where(session)

    def _where(self, session: Session) -> Response:
        """[RU] 201 with the video once complete; else 308 with ``Range: bytes=0-N`` (none
        when nothing arrived yet)."""
        if session.video_id is None and session.received == session.total:
            digest = hashlib.sha256()
            with session.path.open("rb") as stream:
                while block := stream.read(1 << 20):
                    digest.update(block)
            video_id = secrets.token_urlsafe(8)[:11]
            resource = {"kind": "youtube#video", "id": video_id, **session.resource}
            self.videos[video_id] = Video(video_id, resource, session.path, digest.hexdigest())
            session.video_id = video_id
            self.upload_cap -= 1
        if session.video_id is not None:
            return JSONResponse(self.videos[session.video_id].resource, 201)
        headers = {"Range": f"bytes=0-{session.received - 1}"} if session.received else {}
        return Response(status_code=308, headers=headers)

    def _spend(self, units: int) -> Response | None:
        if self.units_left < units:  # [QU] the shared 10,000 units
            return quota_exceeded()
        self.units_left -= units
        return None

    async def _thumbnail(self, request: Request) -> Response:
        """[TS] image/jpeg, image/png or octet-stream; 50 units."""
        refused = self._refused(request)
        if refused is not None:
            return self._record(request, refused)
        video = self.videos.get(request.query_params.get("videoId", ""))
        body = await request.body()
        kind = request.headers.get("content-type", "")
        if video is None:
            return self._record(
                request, JSONResponse(google_error(404, "videoNotFound", "Not Found"), 404)
            )
        if not body:
            return self._record(
                request, JSONResponse(google_error(400, "mediaBodyRequired", "no image"), 400)
            )
        if kind not in ("image/jpeg", "image/png", "application/octet-stream"):
            return self._record(request, JSONResponse(google_error(400, "invalidImage", kind), 400))
        spent = self._spend(50)
        if spent is not None:
            return self._record(request, spent)
        video.thumbnail = body
        items = [{"default": {"url": f"{self.url}/vi/{video.id}/default.jpg"}}]
        return self._record(
            request, JSONResponse({"kind": "youtube#thumbnailSetResponse", "items": items})
        )

    async def _caption(self, request: Request) -> Response:
        """[CI] multipart: the snippet (videoId, language, name ≤150), then the file; needs
        youtube.force-ssl (youtube.upload is not enough); 400 units."""
        refused = self._refused(request)
        if refused is not None:
            return self._record(request, refused)
        token = request.headers["authorization"][7:]
        if FORCE_SSL not in self.tokens[token]:
            body = google_error(403, "insufficientPermissions", "Insufficient Permission", "global")
            return self._record(request, JSONResponse(body, 403))
        meta, content = _multipart(request.headers.get("content-type", ""), await request.body())
        snippet = (meta or {}).get("snippet") or {}
        video = self.videos.get(str(snippet.get("videoId", "")))
        if video is None:
            return self._record(
                request, JSONResponse(google_error(404, "videoNotFound", "Not Found"), 404)
            )
        if len(str(snippet.get("name", ""))) > 150 or not snippet.get("language"):
            return self._record(
                request, JSONResponse(google_error(400, "nameTooLong", "name"), 400)
            )
        spent = self._spend(400)
        if spent is not None:
            return self._record(request, spent)
        caption = {"kind": "youtube#caption", "id": secrets.token_urlsafe(12), "snippet": snippet}
        video.captions.append({**caption, "content": content})
        return self._record(request, JSONResponse(caption))

    async def _playlist_item(self, request: Request) -> Response:
        """[PI] snippet.playlistId and snippet.resourceId; 50 units."""
        refused = self._refused(request)
        if refused is not None:
            return self._record(request, refused)
        spent = self._spend(50)
        if spent is not None:
            return self._record(request, spent)
        snippet = (json.loads(await request.body()) or {}).get("snippet") or {}
        item = {"kind": "youtube#playlistItem", "id": secrets.token_urlsafe(12), "snippet": snippet}
        return self._record(request, JSONResponse(item))


def _resource_problem(resource: Any) -> str | None:
    """[VI] title 1..100 characters, no < >; description ≤5000 bytes, no < >; publishAt only
    for private videos."""
    snippet = resource.get("snippet") if isinstance(resource, dict) else None
    if not isinstance(snippet, dict):
        return "invalidVideoMetadata"
    title, description = str(snippet.get("title", "")), str(snippet.get("description", ""))
    if not title or len(title) > 100 or any(c in title for c in "<>"):
        return "invalidTitle"
    if len(description.encode()) > 5000 or any(c in description for c in "<>"):
        return "invalidDescription"
    status = resource.get("status") or {}
    if status.get("publishAt") and status.get("privacyStatus") != "private":
        return "invalidPublishAt"
    return None


def _multipart(content_type: str, body: bytes) -> tuple[Any, bytes]:
    """multipart/related: the JSON part and the media part."""
    boundary = content_type.split("boundary=", 1)[-1].strip('"').encode()
    parts = [p for p in body.split(b"--" + boundary) if p.strip() not in (b"", b"--")]
    found: list[bytes] = [
        p.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for p in parts if b"\r\n\r\n" in p
    ]
    meta = json.loads(found[0]) if found else None
    return meta, found[1] if len(found) > 1 else b""
