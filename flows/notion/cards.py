"""A video's card: the page properties that show its state, and what a card says.

``card_properties`` writes only what the board has (a ``BoardMap``, from the board's own
schema): each value in the type of the property that takes it, every text cut to Notion's
2,000 characters per rich-text item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.notion.schema import BoardMap

__all__ = [
    "TEXT_LIMIT",
    "CardState",
    "card_properties",
    "card_title",
    "cut",
    "plain_text",
    "refusal_properties",
    "status_filter",
    "status_value",
]

TEXT_LIMIT = 2000  # characters per rich-text item


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
    output: str | None = None  # a URL, or the file's path
    manifest: str | None = None  # where the plan came from
    decision: str | None = None  # the latest review decision, said in a line
    review: str | None = None  # the run's page in the Prefect UI
    channel: str | None = None
    updated: str | None = None  # ISO 8601


def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` shortened to Notion's limit, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rich_text(text: str | None) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": cut(text)}}] if text else []


def _value(kind: str, value: Any) -> dict[str, Any]:
    """A property value of type ``kind`` (None clears it)."""
    if kind == "number" and not isinstance(value, str):
        return {"number": value}
    if kind == "url":
        return {"url": cut(str(value)) if value is not None else None}
    if kind == "select":
        return {"select": {"name": str(value).replace(",", " ")} if value else None}
    if kind == "date":
        return {"date": {"start": value} if value else None}
    return {"rich_text": rich_text(None if value is None else str(value))}


def status_value(board: BoardMap, status: str) -> dict[str, Any]:
    """The status property's value showing our ``status``."""
    return {board.status_kind: {"name": board.option(status)}}


def card_properties(state: CardState, board: BoardMap) -> dict[str, Any]:
    """The page properties that show ``state`` on ``board`` (only the properties it has)."""
    props: dict[str, Any] = {}
    if board.title:
        props[board.title] = {"title": rich_text(state.title or f"Video {state.video_id}")}
    if board.status:
        props[board.status] = status_value(board, state.status)
    values: dict[str, Any] = {
        "video_id": state.video_id,
        "error": state.error,
        "duration": round(state.duration_s, 1) if state.duration_s is not None else None,
        "channel": state.channel,
        "updated": state.updated,
    }
    if state.cost_usd is not None:
        values["cost"] = round(state.cost_usd, 4)
    if state.output:
        values["output"] = state.output
    if state.review:
        values["review"] = state.review
    if state.decision:
        values["decision"] = state.decision
    if state.manifest and not state.manifest.startswith("notion:"):
        values["manifest"] = state.manifest
    for key, value in values.items():
        if key in board.properties:
            name, kind = board.properties[key]
            props[name] = _value(kind, value)
    return props


def refusal_properties(board: BoardMap, message: str, status: str) -> dict[str, Any]:
    """Properties that show why the intake does not start a card: ``status`` and why."""
    props: dict[str, Any] = {}
    if board.status:
        props[board.status] = status_value(board, status)
    if "error" in board.properties:
        name, kind = board.properties["error"]
        props[name] = _value(kind, message)
    return props


def status_filter(board: BoardMap, status: str) -> dict[str, Any]:
    """A data-source query filter for cards showing our ``status``."""
    assert board.status is not None
    return {"property": board.status, board.status_kind: {"equals": board.option(status)}}


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


def card_title(page: dict[str, Any], board: BoardMap) -> str:
    return plain_text(page.get("properties", {}).get(board.title or ""))
