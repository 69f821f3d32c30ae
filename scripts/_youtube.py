"""YouTube Data API v3 over httpx: the OAuth refresh, the resumable upload, and the calls
after it. From the published protocol (developers.google.com/youtube/v3/guides/
using_resumable_upload_protocol and the videos/thumbnails/captions/playlistItems references):

- ``POST {upload}/videos?uploadType=resumable&part=snippet,status`` with the video resource,
  ``X-Upload-Content-Length`` and ``X-Upload-Content-Type``: ``200`` and the session URI in
  ``Location``.
- ``PUT <session>`` chunks with ``Content-Range: bytes FIRST-LAST/TOTAL``; every chunk but the
  last a multiple of 256 KiB. ``308`` with ``Range: bytes=0-N`` → go on from N+1 (trust
  ``Range``, not what was sent); no ``Range`` → from 0. ``201``/``200`` → the video resource.
- After an interruption, ``PUT <session>`` with ``Content-Range: bytes */TOTAL`` asks where
  the session is (the same answers); ``404`` → the session expired: start a new one.
- ``500 502 503 504`` (and network errors) → back off and ask again; other 4xx/5xx are
  permanent. ``403 quotaExceeded`` / ``400 uploadLimitExceeded`` → come back after the quota
  resets (``quota_exceeded`` / ``upload_limit_exceeded``).

The file is streamed from disk in blocks of 64 KiB: memory does not grow with the file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from _contract import Failure, Transient, log
from _http import base_url, message_of, secret, timeout

UPLOAD_URL = "https://www.googleapis.com/upload/youtube/v3"
API_URL = "https://www.googleapis.com/youtube/v3"
TOKEN_URL = "https://oauth2.googleapis.com/token"
QUANTUM = 256 * 1024  # chunks are multiples of this (the protocol's rule)
BLOCK = 64 * 1024
RETRY = frozenset({500, 502, 503, 504})
INVALID_GRANT = (
    "YouTube refused the refresh token (invalid_grant: expired or revoked); a consent screen "
    'left in "Testing" expires refresh tokens after 7 days: run `reelflow youtube auth` again '
    "(or publish the consent screen)"
)
QUOTA = {"quotaExceeded": "quota_exceeded", "uploadLimitExceeded": "upload_limit_exceeded"}


class SessionExpired(Failure):
    """The upload session is gone (404): open a new one."""


def access_token() -> tuple[str, list[str]]:
    """A fresh access token from the refresh token, and the secrets to mask."""
    client_id = secret("REELFLOW_YOUTUBE_CLIENT_ID")
    client_secret = secret("REELFLOW_YOUTUBE_CLIENT_SECRET")
    refresh = secret("REELFLOW_YOUTUBE_REFRESH_TOKEN")
    url = os.environ.get("REELFLOW_GOOGLE_TOKEN_URL") or TOKEN_URL
    form = {"grant_type": "refresh_token", "client_id": client_id,
            "client_secret": client_secret, "refresh_token": refresh}  # fmt: skip
    try:
        answer = httpx.post(url, data=form, timeout=timeout(30))
    except httpx.HTTPError as exc:
        problem = f"youtube: token endpoint: {type(exc).__name__}"
        raise Transient(problem, type="network_error") from None
    body = _json(answer)
    if answer.status_code == 200 and body.get("access_token"):
        return str(body["access_token"]), [client_secret, refresh, str(body["access_token"])]
    if answer.status_code >= 500:
        raise Transient(f"youtube: token endpoint answered {answer.status_code}")
    if body.get("error") == "invalid_grant":
        raise Failure(INVALID_GRANT, type="invalid_grant")
    said = f"{body.get('error') or answer.status_code} {body.get('error_description') or ''}"
    raise Failure(f"youtube: token refresh refused: {said.strip()}", type="unauthorized")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def reason_of(response: httpx.Response) -> str:
    """Google's ``error.errors[0].reason`` (quotaExceeded, uploadLimitExceeded, …)."""
    error = _json(response).get("error")
    errors = error.get("errors") if isinstance(error, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else {}
    return str(first.get("reason", "")) if isinstance(first, dict) else ""


def _blocks(path: Path, start: int, size: int) -> Iterator[bytes]:
    with path.open("rb") as stream:
        stream.seek(start)
        left = size
        while left > 0 and (block := stream.read(min(BLOCK, left))):
            left -= len(block)
            yield block


class YouTube:
    """One run's client: the bearer token, both base URLs, retries with back-off."""

    def __init__(self, token: str, secrets: list[str], *, attempts: int = 6) -> None:
        self.upload = base_url("REELFLOW_YOUTUBE_UPLOAD_URL", UPLOAD_URL)
        self.api = base_url("REELFLOW_YOUTUBE_BASE_URL", API_URL)
        self.secrets, self.attempts = secrets, attempts
        self.backoff = float(os.environ.get("REELFLOW_YOUTUBE_BACKOFF_SECONDS") or 1.0)
        headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(headers=headers, timeout=timeout(120))

    def close(self) -> None:
        self.http.close()

    def scrub(self, text: str) -> str:
        for value in self.secrets:
            text = text.replace(value, "***")
        return text

    def fail(self, response: httpx.Response, what: str) -> Failure:
        """The permanent error for ``response`` (quota ones say so in their type)."""
        said = self.scrub(f"youtube: {what}: {response.status_code} {message_of(response)}")
        kind = QUOTA.get(reason_of(response))
        if kind is None:
            kind = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(
                response.status_code, "rejected")  # fmt: skip
        return Failure(said, type=kind)

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One call, retried with back-off on 500/502/503/504 and network errors only."""
        for attempt in range(self.attempts):
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code not in RETRY:
                    return response
                problem = f"{response.status_code}"
            if attempt + 1 < self.attempts:
                log(f"{what}: {problem}, retrying in {self.backoff * 2**attempt:g} s")
                time.sleep(self.backoff * 2**attempt)
        raise Transient(self.scrub(f"youtube: {what}: {problem} after {self.attempts} tries"))

    def start(self, resource: dict[str, Any], total: int, kind: str) -> str:
        """Open a resumable session for ``total`` bytes: its URL."""
        url = f"{self.upload}/videos?uploadType=resumable&part=snippet,status"
        headers = {"X-Upload-Content-Length": str(total), "X-Upload-Content-Type": kind,
                   "Content-Type": "application/json; charset=UTF-8"}  # fmt: skip
        response = self.send("POST", url, "videos.insert", json=resource, headers=headers)
        location = response.headers.get("location")
        if response.status_code != 200 or not location:
            raise self.fail(response, "videos.insert")
        return location

    def where(self, session: str, total: int) -> tuple[int, dict[str, Any] | None]:
        """Ask the session: (next byte to send, None), or (total, the video) when done."""
        headers = {"Content-Range": f"bytes */{total}", "Content-Length": "0"}
        return self._answer(self.send("PUT", session, "upload status", headers=headers), total)

    def _answer(self, response: httpx.Response, total: int) -> tuple[int, dict[str, Any] | None]:
        if response.status_code in (200, 201):
            return total, _json(response)
        if response.status_code == 308:  # Range: bytes=0-N, or none: nothing received
            got = response.headers.get("range", "")
            return (int(got.rsplit("-", 1)[1]) + 1 if "-" in got else 0), None
        if response.status_code == 404:
            raise SessionExpired(
                "youtube: the upload session expired (404)", type="session_expired"
            )
        raise self.fail(response, "upload")

    def put(self, session: str, path: Path, start: int, size: int, total: int) -> tuple[int, Any]:
        """Send bytes [start, start+size): where the session is now (see ``where``). A PUT
        whose answer is lost (a network error, a 5xx) may have landed: ask the session."""
        headers = {"Content-Range": f"bytes {start}-{start + size - 1}/{total}",
                   "Content-Length": str(size)}  # fmt: skip
        try:
            response = self.http.put(session, content=_blocks(path, start, size), headers=headers)
        except httpx.HTTPError as exc:
            log(f"upload: {type(exc).__name__} at byte {start}; asking the session")
            return self.where(session, total)
        if response.status_code in RETRY:
            log(f"upload: {response.status_code} at byte {start}; asking the session")
            time.sleep(self.backoff)
            return self.where(session, total)
        return self._answer(response, total)

    def upload_file(
        self, session: str, path: Path, total: int, chunk: int, progress: Callable[[int], None]
    ) -> dict[str, Any]:
        """Resume ``session`` from where it says it is and send the rest: the video."""
        offset, video = self.where(session, total)
        stalls = 0
        while video is None:
            progress(offset)
            size = min(chunk, total - offset)
            moved, video = self.put(session, path, offset, size, total)
            stalls = 0 if moved > offset else stalls + 1
            if stalls >= self.attempts:
                raise Transient(f"youtube: upload stuck at byte {offset}", type="upstream_error")
            offset = moved
        progress(total)
        return video

    # --- after the upload: thumbnails.set, captions.insert, playlistItems.insert -----------

    def thumbnail(self, video_id: str, image: Path) -> None:
        """``POST {upload}/thumbnails/set?videoId=…`` with the image as the body."""
        kind = "image/png" if image.suffix.lower() == ".png" else "image/jpeg"
        url = f"{self.upload}/thumbnails/set?videoId={video_id}&uploadType=media"
        response = self.send("POST", url, "thumbnails.set", content=image.read_bytes(),
                             headers={"Content-Type": kind})  # fmt: skip
        if response.status_code != 200:
            raise self.fail(response, "thumbnails.set")

    def caption(self, video_id: str, srt: Path, language: str, name: str) -> str:
        """``POST {upload}/captions?part=snippet`` (multipart: the snippet, then the SRT,
        which carries its own timings: ``sync`` is gone since 2024-04). Its id."""
        boundary = f"reelflow-{os.getpid()}-{int(time.time() * 1000)}"
        meta = json.dumps({"snippet": {"videoId": video_id, "language": language, "name": name}})
        body = (
            (
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n"
                f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + srt.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        url = f"{self.upload}/captions?uploadType=multipart&part=snippet"
        headers = {"Content-Type": f"multipart/related; boundary={boundary}"}
        response = self.send("POST", url, "captions.insert", content=body, headers=headers)
        if response.status_code != 200:
            raise self.fail(response, "captions.insert")
        return str(_json(response).get("id", ""))

    def playlist_item(self, playlist_id: str, video_id: str) -> str:
        """``POST {api}/playlistItems?part=snippet``: the video added to the playlist."""
        snippet = {"playlistId": playlist_id,
                   "resourceId": {"kind": "youtube#video", "videoId": video_id}}  # fmt: skip
        url = f"{self.api}/playlistItems?part=snippet"
        response = self.send("POST", url, "playlistItems.insert", json={"snippet": snippet})
        if response.status_code != 200:
            raise self.fail(response, "playlistItems.insert")
        return str(_json(response).get("id", ""))
