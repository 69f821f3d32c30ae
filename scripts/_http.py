"""HTTP for the provider clients: httpx with explicit timeouts, one error mapping, no secrets.

Every provider call goes through ``Session``. What comes back is mapped onto the contract:

    429, 408, 5xx, timeouts, network errors   Transient (exit 75); ``retry_after`` from the
                                              Retry-After header (seconds or an HTTP date),
                                              else from a Google RetryInfo ``retryDelay``
    400, 401, 403, 404, 422, any other 4xx     Failure (exit 1) with the provider's own message:
                                              ``unauthorized`` (401, or a refused key however
                                              the provider says it: Google's 400
                                              ``API_KEY_INVALID``), ``forbidden`` (403),
                                              ``not_found`` (404), else ``rejected``

Keys come only from the environment (``secret``) and are never put in a URL. Every message
that leaves this module passes through ``Session.scrub``, which replaces the session's secrets,
anything derived from them (Kling's JWT) and the value of every environment variable whose
name says KEY, TOKEN, SECRET or PASSWORD with ``***``, in case a provider or a proxy echoes
them back.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
from _contract import Failure, Transient

MASK = "***"
TRANSIENT_STATUS = frozenset({408, 425, 429})
DEFAULT_CONNECT_TIMEOUT = 10.0
MAX_MESSAGE = 300
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
MIN_SECRET = 4


def secret(variable: str) -> str:
    """A key from the environment; a missing one is a permanent failure naming the variable."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise Failure(
            f"{variable} is not set: give the channel a credentials block or export it",
            type="missing_credentials",
        )
    return value


def base_url(variable: str, default: str) -> str:
    """The provider's base URL: ``$variable`` (proxies, regions, tests) or the real one."""
    return (os.environ.get(variable) or default).rstrip("/")


def timeout(read: float) -> httpx.Timeout:
    """Connect and read timeouts; ``REELFLOW_HTTP_{CONNECT,READ}_TIMEOUT`` override them."""
    connect = float(os.environ.get("REELFLOW_HTTP_CONNECT_TIMEOUT") or DEFAULT_CONNECT_TIMEOUT)
    read = float(os.environ.get("REELFLOW_HTTP_READ_TIMEOUT") or read)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


class Session:
    """One provider's HTTP client: base URL, auth headers, timeouts, error mapping."""

    def __init__(
        self,
        provider: str,
        base: str,
        *,
        headers: dict[str, str],
        secrets: Iterable[str],
        read_timeout: float,
        permanent: Callable[[httpx.Response], bool] | None = None,
        refused_key: Callable[[httpx.Response], bool] | None = None,
    ) -> None:
        self.provider = provider
        self.secrets = [s for s in (*secrets, *_environment_secrets()) if s]
        self.permanent = permanent
        self.refused_key = refused_key  # a non-401 answer that means "this key is not valid"
        self._timeout = timeout(read_timeout)
        self.client = httpx.Client(base_url=base, headers=headers, timeout=self._timeout)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def hide(self, value: str) -> None:
        """Mask ``value`` (e.g. a token derived from a key) in every message from now on."""
        self.secrets.append(value)

    def scrub(self, text: str) -> str:
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; return a 2xx response, raise Transient or Failure otherwise."""
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            said = self._said(f"timed out ({type(exc).__name__})")
            raise Transient(said, type="timeout") from None
        except httpx.HTTPError as exc:  # connection refused, reset, DNS, protocol errors
            raise Transient(self._said(f"network error: {exc}"), type="network_error") from None
        self.check(response)
        return response

    def check(self, response: httpx.Response) -> None:
        """Raise the contract's error for a non-2xx response."""
        status = response.status_code
        if status < 400:
            return
        said = self._said(f"{status} {message_of(response)}")
        transient = status in TRANSIENT_STATUS or status >= 500
        if transient and not (self.permanent and self.permanent(response)):
            raise Transient(said, type="rate_limited" if status == 429 else "upstream_error",
                            retry_after=retry_after(response))  # fmt: skip
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(status, "rejected")
        if self.refused_key is not None and self.refused_key(response):
            kind = "unauthorized"
        raise Failure(said, type=kind)

    def json(self, response: httpx.Response) -> Any:
        """The response's JSON; anything else (a proxy's HTML page) is a permanent failure."""
        try:
            return response.json()
        except ValueError:
            said = self._said(f"{response.status_code} answer is not JSON: {message_of(response)}")
            raise Failure(said, type="bad_response") from None

    def download(self, url: str, dest: Path, *, limit: int) -> int:
        """Stream ``url`` (absolute, often another host: no auth headers) into ``dest``."""
        written = 0
        try:
            with httpx.stream("GET", url, timeout=self._timeout, follow_redirects=True) as got:
                if got.status_code >= 400:
                    got.read()  # the error body, for its message
                    self.check(got)
                with dest.open("wb") as out:
                    for chunk in got.iter_bytes():
                        written += len(chunk)
                        if written > limit:
                            raise Failure(self._said(f"download over {limit} bytes"))
                        out.write(chunk)
        except httpx.TimeoutException:
            raise Transient(self._said("download timed out"), type="timeout") from None
        except httpx.HTTPError as exc:
            raise Transient(self._said(f"download failed: {exc}"), type="network_error") from None
        return written

    def _said(self, text: str) -> str:
        return self.scrub(f"{self.provider}: {text}")


def _environment_secrets() -> list[str]:
    """Values of secret-looking variables (like the runner masks): never echoed either."""
    return [v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET]


def message_of(response: httpx.Response) -> str:
    """The provider's own error message, from whichever of the usual JSON shapes it used."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = " ".join(response.text.split())
        return (text or response.reason_phrase)[:MAX_MESSAGE]
    parts: list[str] = []
    if isinstance(body, dict):
        error, detail = body.get("error"), body.get("detail")
        if isinstance(error, dict):  # Google: {"error": {"code", "message", "status"}}
            parts = [str(error.get("status") or ""), str(error.get("message") or "")]
        elif isinstance(detail, dict):  # ElevenLabs: {"detail": {"status", "message"}}
            parts = [str(detail.get("status") or ""), str(detail.get("message") or "")]
        elif isinstance(detail, list) and detail:  # ElevenLabs/FastAPI validation (422)
            first = detail[0] if isinstance(detail[0], dict) else {}
            where = ".".join(str(p) for p in first.get("loc", []))
            parts = [where, str(first.get("msg") or detail[0])]
        elif detail:
            parts = [str(detail)]
        elif "message" in body:  # Kling: {"code", "message", "request_id"}
            parts = [f"code {body.get('code')}", str(body.get("message") or "")]
    message = ": ".join(p for p in parts if p) or json.dumps(body)
    return " ".join(message.split())[:MAX_MESSAGE]


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait: Retry-After (seconds or HTTP date), else a RetryInfo retryDelay."""
    header = response.headers.get("retry-after", "").strip()
    if header:
        if re.fullmatch(r"\d+(\.\d+)?", header):
            return float(header)
        try:
            return max(0.0, email.utils.parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    match = re.search(r'"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"', response.text or "")
    return float(match[1]) if match else None
