"""Google's OAuth 2.0 for installed apps, with a loopback redirect (no Prefect, no blocks).

The out-of-band flow is blocked since 2023-01-31; desktop clients redirect to
``http://127.0.0.1:PORT/`` (developers.google.com/identity/protocols/oauth2/native-app):

1. listen on 127.0.0.1 (any free port), make a PKCE verifier (S256) and a ``state``;
2. the person opens the consent URL (``access_type=offline&prompt=consent`` so that a
   refresh token is issued) and Google redirects the browser to us with ``code`` and
   ``state``;
3. the code (with the verifier) is exchanged at the token endpoint for the tokens.

``invalid_grant`` from the token endpoint becomes the one sentence that says what usually
causes it: a consent screen left in "Testing" expires refresh tokens after 7 days.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from flows.core.errors import ConfigError

__all__ = [
    "AUTH_URL",
    "INVALID_GRANT",
    "SCOPES",
    "TOKEN_URL",
    "Loopback",
    "consent_url",
    "exchange_code",
    "pkce_pair",
]

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
# youtube.upload: videos.insert and thumbnails.set; youtube.force-ssl: captions.insert
# (and playlistItems.insert), which youtube.upload does not cover.
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.force-ssl",
)
INVALID_GRANT = (
    "Google refused the grant (invalid_grant: expired or revoked); a consent screen left in "
    '"Testing" expires refresh tokens after 7 days: run `reelflow youtube auth` again (or '
    "publish the consent screen)"
)


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def consent_url(client_id: str, redirect_uri: str, state: str, challenge: str, *,
                auth_url: str = AUTH_URL) -> str:  # fmt: skip
    """The URL the person opens to grant Reelflow the YouTube scopes."""
    query = {
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": " ".join(SCOPES), "access_type": "offline", "prompt": "consent",
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    return f"{auth_url}?{urlencode(query)}"


@dataclass
class _Answer:
    code: str | None = None
    error: str | None = None


class Loopback:
    """A one-shot HTTP server on 127.0.0.1 that receives the redirect with the code."""

    def __init__(self, state: str, port: int = 0) -> None:
        self.state, self.answer, self.done = state, _Answer(), threading.Event()
        self.server = HTTPServer(("127.0.0.1", port), self._handler())
        self.server.timeout = 0.2  # handle_request returns: the thread sees ``done``
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                self.server.handle_request()
            except (OSError, ValueError):  # closed under us: the wait is over
                return

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                if "code" not in query and "error" not in query:
                    self.send_response(404)
                    self.end_headers()
                    return
                if query.get("state") != loopback.state:
                    loopback.answer.error = "the answer's state does not match (not ours)"
                elif "error" in query:
                    loopback.answer.error = f"consent refused: {query['error']}"
                else:
                    loopback.answer.code = query["code"]
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(b"Reelflow: done, you may close this window.\n")
                loopback.done.set()

            def log_message(self, format: str, *args: Any) -> None:  # never log the code
                return

        return Handler

    def wait(self, timeout: float) -> str:
        """The authorization code; ConfigError on a refusal or when none came in time."""
        try:
            if not self.done.wait(timeout):
                raise ConfigError(f"no answer from the browser within {timeout:g} s")
        finally:
            self.done.set()
            self.server.server_close()
        if self.answer.error or not self.answer.code:
            raise ConfigError(f"youtube auth: {self.answer.error or 'no code'}")
        return self.answer.code


def exchange_code(client_id: str, client_secret: str, code: str, redirect_uri: str,
                  verifier: str, *, token_url: str = TOKEN_URL) -> str:  # fmt: skip
    """Trade the code for tokens at the token endpoint: the refresh token."""
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": client_secret, "redirect_uri": redirect_uri,
            "code_verifier": verifier}  # fmt: skip
    try:
        answer = httpx.post(token_url, data=form, timeout=30)
    except httpx.HTTPError as exc:
        problem = type(exc).__name__
        raise ConfigError(f"youtube auth: token endpoint unreachable ({problem})") from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code == 200 and body.get("refresh_token"):
        return str(body["refresh_token"])
    if body.get("error") == "invalid_grant":
        raise ConfigError(INVALID_GRANT)
    if answer.status_code == 200:
        raise ConfigError("youtube auth: no refresh token came back (was prompt=consent kept?)")
    raise ConfigError(
        f"youtube auth: the token endpoint refused: {body.get('error') or answer.status_code} "
        f"{body.get('error_description') or ''}".strip()
    )
