"""Calls to Notion: one client per board, one retry layer, pagination.

notion-client retries 429 and some 5xx by itself; its retries are turned off here
(``retry=False``) so that every request is retried by exactly one layer, ``NotionCaller``:

* before every attempt it awaits ``before()`` (the flows pass Prefect's global rate limit),
  so a retry counts against the rate like any request;
* 500/502/503/504/529, timeouts and network errors are retried with exponential back-off
  and full jitter, within ``RetryPolicy.attempts`` and a deadline;
* a 429 is waited out only when its Retry-After is short; a longer one is raised as
  ``NotionRateLimited`` for the caller to record (the board is then left alone until then);
* anything else (400/401/403/404/409, ...) is raised at once as a permanent ``NotionError``.

The token goes into the client's Authorization header and nowhere else.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from notion_client import AsyncClient
from notion_client.client import ClientOptions
from notion_client.errors import HTTPResponseError, RequestTimeoutError

from flows.core.errors import NotionError, ReelflowError, is_transient
from flows.notion.schema import NOTION_VERSION, BoardConfig

__all__ = [
    "NotionCaller",
    "NotionRateLimited",
    "RetryPolicy",
    "backoff",
    "classify",
    "data_source_of",
    "list_children",
    "open_client",
    "query_all",
    "retry_after",
]

Operation = Callable[[AsyncClient], Awaitable[Any]]
_quiet = logging.getLogger("reelflow.notion.client")  # notion-client's own per-request lines
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504, 529})


class NotionRateLimited(NotionError):
    """Notion answered 429; ``retry_after`` is how many seconds it asked us to wait."""

    retry_after: float

    def __init__(self, message: str, *, retry_after: float) -> None:
        ReelflowError.__init__(
            self,
            f"Notion 429 rate_limited: {message}",
            status=429,
            code="rate_limited",
            transient=True,
            retry_after=retry_after,
        )


def classify(exc: BaseException) -> NotionError | None:
    """The NotionError for what notion-client or httpx raised; None for anything else."""
    if isinstance(exc, NotionError):
        return exc
    if isinstance(exc, HTTPResponseError):
        code, message = _code_and_message(exc)
        if exc.status == 429:
            return NotionRateLimited(message, retry_after=retry_after(exc.headers))
        transient = exc.status in TRANSIENT_STATUSES or exc.status >= 500
        return NotionError(message, status=exc.status, code=code, transient=transient)
    if isinstance(exc, RequestTimeoutError | httpx.TimeoutException):
        return NotionError("no answer in time", status=0, code="timeout", transient=True)
    if isinstance(exc, httpx.TransportError):
        detail = type(exc).__name__
        return NotionError(f"network error ({detail})", status=0, code="network", transient=True)
    return None


def _code_and_message(exc: HTTPResponseError) -> tuple[str, str]:
    """Notion's own code and message, also for codes notion-client does not know (529)."""
    code = getattr(exc.code, "value", exc.code)
    message = str(exc)
    try:
        body = json.loads(exc.body)
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("code") or code)
        message = str(body.get("message") or message)
    return str(code), message[:500]


def retry_after(headers: httpx.Headers, default: float = 1.0) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    value = headers.get("retry-after")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried."""

    attempts: int = 4  # tries, the first included
    base_delay: float = 0.5  # seconds before the first retry (then doubled, with jitter)
    max_delay: float = 4.0
    max_inline_wait: float = 2.0  # a 429 asking for longer is raised instead of waited out
    deadline: float = 15.0  # seconds one call may take with all its retries


def backoff(attempt: int, policy: RetryPolicy, rng: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``attempt + 1``: exponential, half fixed and half jitter."""
    ceiling = min(policy.max_delay, policy.base_delay * 2.0**attempt)
    return ceiling / 2 + rng() * ceiling / 2


def open_client(board: BoardConfig, *, timeout: float = 10.0) -> AsyncClient:
    """A notion-client AsyncClient on its own httpx client, with notion-client's retries off."""
    options = ClientOptions(
        auth=board.token.get_secret_value(),
        base_url=board.base_url.rstrip("/"),
        timeout_ms=int(timeout * 1000),
        notion_version=NOTION_VERSION,
        retry=False,
        logger=_quiet,
        log_level=logging.ERROR,
    )
    http = httpx.AsyncClient(
        verify=_tls(), limits=httpx.Limits(max_connections=4), follow_redirects=False
    )
    return AsyncClient(options=options, client=http)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client (building one loads the CA bundle: ~20 ms of CPU)."""
    return httpx.create_ssl_context()


class NotionCaller:
    """Runs operations against one client: rate-limited, retried by one layer, translated.

    Args:
        client: The board's client (see ``open_client``).
        before: Awaited before every attempt (a rate limit); may raise to give up.
        policy: Attempts, back-off and deadline.
        stopped: Checked before each retry; True means stop retrying and raise.
        sleep: For tests.
    """

    def __init__(
        self,
        client: AsyncClient,
        *,
        before: Callable[[], Awaitable[None]] | None = None,
        policy: RetryPolicy | None = None,
        stopped: Callable[[], bool] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        self.requests = 0
        self._before = before
        self._stopped = stopped or (lambda: False)
        self._sleep = sleep

    async def __call__(self, operation: Operation, *, retry: bool = True) -> Any:
        """Run ``operation``; ``retry=False`` for one that must not be repeated blindly
        (a page create: a retried create whose first answer was lost makes a second page)."""
        deadline = time.monotonic() + (self.policy.deadline if retry else 0.0)
        attempt = 0
        while True:
            if self._before is not None:
                await self._before()
            self.requests += 1
            try:
                return await operation(self.client)
            except Exception as exc:
                error = classify(exc)
                if error is None:
                    raise
                delay = self._delay(error, attempt, deadline)
                if delay is None:
                    raise error from exc
            await self._sleep(delay)
            attempt += 1

    def _delay(self, error: NotionError, attempt: int, deadline: float) -> float | None:
        """Seconds to wait before retrying, or None to give up now."""
        if not is_transient(error) or attempt + 1 >= self.policy.attempts or self._stopped():
            return None
        if isinstance(error, NotionRateLimited):
            if error.retry_after > self.policy.max_inline_wait:
                return None
            delay = error.retry_after
        else:
            delay = backoff(attempt, self.policy)
        return delay if time.monotonic() + delay < deadline else None

    def stopped(self) -> bool:
        """Whether whoever started this caller asked it to stop."""
        return self._stopped()

    async def aclose(self) -> None:
        await self.client.aclose()


async def data_source_of(call: NotionCaller, database_id: str) -> str:
    """The (first) data source of a database (API version 2025-09-03 keeps rows there)."""
    database = await call(lambda c: c.databases.retrieve(database_id=database_id))
    sources = database.get("data_sources") or []
    if not sources:
        raise NotionError(
            f"database {database_id} has no data source", status=404, code="no_data_source",
            transient=False,
        )  # fmt: skip
    return str(sources[0]["id"])


async def query_all(
    call: NotionCaller,
    data_source_id: str,
    *,
    filter: dict[str, Any] | None = None,
    page_size: int = 100,
) -> list[dict[str, Any]]:
    """Every row of a data source matching ``filter``, following has_more / next_cursor."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        body: dict[str, Any] = {"page_size": page_size, "start_cursor": cursor}
        if filter is not None:
            body["filter"] = filter

        async def query(client: AsyncClient, body: dict[str, Any] = body) -> Any:
            return await client.data_sources.query(data_source_id, **body)

        page = await call(query)
        rows.extend(page.get("results", []))
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor:
            return rows


async def list_children(call: NotionCaller, block_id: str) -> list[dict[str, Any]]:
    """Every child block of a page (its body), following has_more / next_cursor."""
    blocks: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:

        async def children(client: AsyncClient, start: str | None = cursor) -> Any:
            return await client.blocks.children.list(block_id, start_cursor=start, page_size=100)

        page = await call(children)
        blocks.extend(page.get("results", []))
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor:
            return blocks
