"""Notion without Prefect: a board's configuration, the card a video makes, what an error
means, and the plan a card carries.

Everything here is pure: ``card_properties`` turns a video's state into page properties,
``classify`` turns whatever notion-client or httpx raised into a ``NotionError`` (transient or
permanent, with Notion's own code and message), and ``manifest_reference`` /
``manifest_code`` find the plan on a card. The calls themselves (client, retries,
pagination, checking a board) are in ``flows.core.notion_client``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
import yaml
from notion_client.errors import HTTPResponseError, RequestTimeoutError
from pydantic import BaseModel, ConfigDict, SecretStr

from flows.core.errors import ManifestError, NotionError, ReelflowError
from flows.core.manifest import Manifest, parse_manifest

__all__ = [
    "DEFAULT_STATUS_OPTIONS",
    "NOTION_VERSION",
    "TEXT_LIMIT",
    "BoardConfig",
    "CardState",
    "NotionRateLimited",
    "card_properties",
    "classify",
    "cut",
    "manifest_code",
    "manifest_from_text",
    "manifest_reference",
    "refusal_properties",
    "status_filter",
]

NOTION_VERSION = "2025-09-03"
TEXT_LIMIT = 2000  # characters per rich-text item
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504, 529})

DEFAULT_STATUS_OPTIONS = {
    "queued": "Queued",
    "processing": "Processing",
    "generating_assets": "Generating Assets",
    "generating_composites": "Generating Composites",
    "generating_video": "Generating Video",
    "generating_audio": "Generating Audio",
    "generating_sfx": "Generating SFX",
    "assembling": "Assembling",
    "awaiting_review": "Awaiting Review",
    "approved": "Approved",
    "rejected": "Rejected",
    "review_expired": "Review Expired",
    "budget_exceeded": "Budget Exceeded",
    "retry_scheduled": "Retry Scheduled",
    "crashed": "Crashed",
    "cancelled": "Cancelled",
    "asset_error": "Asset Error",
    "composite_error": "Composite Error",
    "video_error": "Video Error",
    "audio_error": "Audio Error",
    "sfx_error": "SFX Error",
    "assembly_error": "Assembly Error",
    "manifest_error": "Manifest Error",
}


class BoardConfig(BaseModel):
    """A board as the sync sees it: the NotionBoard block's fields (kept in step by a test)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    token: SecretStr
    database_id: str
    data_source_id: str | None = None
    base_url: str = "https://api.notion.com"
    status_property: str = "Status"
    status_property_type: Literal["status", "select"] = "status"
    status_options: dict[str, str] = dict(DEFAULT_STATUS_OPTIONS)
    title_property: str = "Name"
    video_id_property: str | None = "Video ID"
    manifest_property: str | None = "Manifest"
    error_property: str | None = "Error"
    cost_property: str | None = "Cost"
    duration_property: str | None = "Duration"
    output_property: str | None = "Output"
    output_property_type: Literal["rich_text", "url"] = "rich_text"

    def option(self, status: str) -> str:
        """The board's option name for one of our statuses."""
        return self.status_options.get(status) or status.replace("_", " ").title()


@dataclass(frozen=True)
class CardState:
    """What a video's card should show, as of the video's sequence number ``seq``."""

    video_id: int
    seq: int
    title: str
    status: str
    error: str | None = None
    cost_usd: float | None = None
    duration_s: float | None = None
    output: str | None = None


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


def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` shortened to Notion's limit, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rich_text(text: str | None) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": cut(text)}}] if text else []


def card_properties(state: CardState, board: BoardConfig) -> dict[str, Any]:
    """The page properties that show ``state`` on ``board`` (every text cut to 2,000)."""
    kind = board.status_property_type
    props: dict[str, Any] = {
        board.title_property: {"title": _rich_text(state.title or f"Video {state.video_id}")},
        board.status_property: {kind: {"name": board.option(state.status)}},
    }
    if board.video_id_property:
        props[board.video_id_property] = {"number": state.video_id}
    if board.error_property:
        props[board.error_property] = {"rich_text": _rich_text(state.error)}
    if board.cost_property and state.cost_usd is not None:
        props[board.cost_property] = {"number": round(state.cost_usd, 4)}
    if board.duration_property:
        duration = round(state.duration_s, 1) if state.duration_s is not None else None
        props[board.duration_property] = {"number": duration}
    if board.output_property and state.output:
        if board.output_property_type == "url":
            props[board.output_property] = {"url": cut(state.output)}
        else:
            props[board.output_property] = {"rich_text": _rich_text(state.output)}
    return props


def refusal_properties(board: BoardConfig, message: str) -> dict[str, Any]:
    """Properties that mark a card the intake cannot start: "Manifest Error" and why."""
    kind = board.status_property_type
    props: dict[str, Any] = {
        board.status_property: {kind: {"name": board.option("manifest_error")}}
    }
    if board.error_property:
        props[board.error_property] = {"rich_text": _rich_text(message)}
    return props


def status_filter(board: BoardConfig, status: str) -> dict[str, Any]:
    """A data-source query filter for cards showing our ``status``."""
    kind = board.status_property_type
    return {"property": board.status_property, kind: {"equals": board.option(status)}}


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
    return str(code), cut(message, 500)


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


# --- reading cards ------------------------------------------------------------------------


def plain_text(value: dict[str, Any] | None) -> str:
    """The text of a title, rich-text, url, select or status property value."""
    if not value:
        return ""
    kind = value.get("type")
    data = value.get(kind) if isinstance(kind, str) else None
    if isinstance(data, list):
        return "".join(part.get("plain_text") or _content(part) for part in data).strip()
    if isinstance(data, dict):
        return str(data.get("name") or "")
    return str(data or "").strip()


def _content(part: dict[str, Any]) -> str:
    text = part.get("text")
    return str(text.get("content", "")) if isinstance(text, dict) else ""


def card_title(page: dict[str, Any], board: BoardConfig) -> str:
    return plain_text(page.get("properties", {}).get(board.title_property))


def manifest_reference(page: dict[str, Any], board: BoardConfig) -> str | None:
    """The path or URL the card's manifest property holds, if any."""
    if not board.manifest_property:
        return None
    value = plain_text(page.get("properties", {}).get(board.manifest_property))
    return value or None


def manifest_code(blocks: list[dict[str, Any]]) -> str | None:
    """The text of the page body's first JSON or YAML code block (any code block if unlabelled)."""
    codes = [
        b["code"] for b in blocks if b.get("type") == "code" and isinstance(b.get("code"), dict)
    ]
    labelled = [c for c in codes if c.get("language") in ("json", "yaml")]
    for code in labelled or codes:
        text = "".join(p.get("plain_text") or _content(p) for p in code.get("rich_text", []))
        if text.strip():
            return text
    return None


def manifest_from_text(text: str, *, source: str) -> Manifest:
    """A plan from JSON or YAML text (a code block, a downloaded file)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source} is not valid JSON or YAML: {exc}") from exc
    return parse_manifest(data, source=source)
