"""The plan a card carries: its Manifest property (a path or a URL) or a code block.

A card is written by whoever can edit the board, so what it points at is not trusted:

* a path is read only inside the board's ``plan_roots`` (default ``<REELFLOW_DATA_DIR>/plans``),
  after resolving symlinks and ``..``, only as a .yaml/.yml/.json file, at most
  ``plan_max_bytes``;
* a URL is fetched only over http(s) from a host in ``plan_hosts`` (empty by default: no
  URLs), redirects followed only to the same host, at most ``plan_max_bytes``;
* the reason a plan is refused, written back to the card, names the problem and never quotes
  the plan (a YAML error gives its line and column, not the text around it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from flows.core.errors import ManifestError
from flows.core.manifest import Manifest, parse_manifest
from flows.core.manifest_file import parse_plan_text
from flows.core.manifest_limits import MAX_PLAN_BYTES
from flows.notion.cards import plain_text
from flows.notion.schema import BoardConfig, BoardMap

__all__ = [
    "PLAN_SUFFIXES",
    "fetch_plan",
    "manifest_code",
    "manifest_from_text",
    "manifest_reference",
    "plan_roots",
    "short_reason",
]

PLAN_SUFFIXES = (".yaml", ".yml", ".json")
MAX_REDIRECTS = 3


def manifest_reference(page: dict[str, Any], board: BoardMap) -> str | None:
    """The path or URL the card's manifest property holds, if any."""
    if "manifest" not in board.properties:
        return None
    name = board.properties["manifest"][0]
    return plain_text(page.get("properties", {}).get(name)) or None


def manifest_code(blocks: list[dict[str, Any]]) -> str | None:
    """The text of the page body's first JSON or YAML code block (any code block if unlabelled)."""
    codes = [
        b["code"] for b in blocks if b.get("type") == "code" and isinstance(b.get("code"), dict)
    ]
    labelled = [c for c in codes if c.get("language") in ("json", "yaml")]
    for code in labelled or codes:
        text = "".join(
            p.get("plain_text") or (p.get("text") or {}).get("content", "")
            for p in code.get("rich_text", [])
        )
        if text.strip():
            return text
    return None


def manifest_from_text(text: str, *, source: str) -> Manifest:
    """A plan from JSON or YAML text; an error gives the place, never the text."""
    if len(text.encode()) > MAX_PLAN_BYTES:
        raise ManifestError(f"{source}: larger than {MAX_PLAN_BYTES / 2**20:g} MiB")
    return parse_manifest(parse_plan_text(text, source=source), source=source)


def short_reason(error: Exception, limit: int = 300) -> str:
    """A refusal for the card: the first line of the error, shortened."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return first if len(first) <= limit else first[: limit - 1] + "…"


def plan_roots(board: BoardConfig, data_dir: Path) -> list[Path]:
    """The folders a card's path may point into."""
    roots = board.plan_roots if board.plan_roots is not None else [str(data_dir / "plans")]
    return [Path(r).expanduser().resolve() for r in roots]


async def fetch_plan(reference: str, board: BoardConfig, roots: list[Path]) -> Manifest:
    """The plan at ``reference`` (a URL or a path), within the board's limits."""
    if reference.startswith(("http://", "https://")):
        text = await _download(reference, board)
        return manifest_from_text(text, source=reference)
    return await asyncio.to_thread(_read_local, reference, roots, board.plan_max_bytes)


def _read_local(reference: str, roots: list[Path], limit: int) -> Manifest:
    path = Path(reference.removeprefix("file://")).expanduser().resolve()
    if path.suffix not in PLAN_SUFFIXES:
        raise ManifestError(f"{reference}: a plan is a {', '.join(PLAN_SUFFIXES)} file or URL")
    if not any(path.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots) or "none"
        raise ManifestError(f"{reference}: plans are read only from {allowed} (plan_roots)")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ManifestError(f"{reference}: cannot read it ({exc.strerror})") from exc
    if size > limit:
        raise ManifestError(f"{reference}: {size} bytes, more than the {limit} allowed")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{reference}: cannot read it as UTF-8 text") from exc
    return manifest_from_text(text, source=reference)


async def _download(url: str, board: BoardConfig) -> str:
    host = (urlsplit(url).hostname or "").lower()
    allowed = {h.lower() for h in board.plan_hosts}
    if host not in allowed:
        raise ManifestError(f"{url}: host {host!r} is not in the board's plan_hosts")
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                body = await _get(client, url, board.plan_max_bytes)
            except httpx.HTTPError as exc:
                raise ManifestError(f"{url}: {type(exc).__name__}") from exc
            if isinstance(body, str):
                return body
            url = urljoin(url, body[1])
            if (urlsplit(url).hostname or "").lower() != host:
                raise ManifestError(f"{url}: a redirect to another host is not followed")
    raise ManifestError(f"{url}: more than {MAX_REDIRECTS} redirects")


async def _get(client: httpx.AsyncClient, url: str, limit: int) -> str | tuple[int, str]:
    """The body (at most ``limit`` bytes), or (status, location) of a redirect."""
    async with client.stream("GET", url) as response:
        if response.is_redirect and response.headers.get("location"):
            return response.status_code, response.headers["location"]
        if response.status_code != 200:
            raise ManifestError(f"{url}: HTTP {response.status_code}")
        data = b""
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > limit:
                raise ManifestError(f"{url}: more than the {limit} bytes allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{url}: not UTF-8 text") from exc
