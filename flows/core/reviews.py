"""Review decisions as people read them, from a video's history (its events)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["decision_text", "last_decision"]


class Event(Protocol):
    kind: str
    status: str | None
    actor: str | None
    detail: dict[str, Any]


def decision_text(
    kind: str, status: str | None, actor: str | None, detail: dict[str, Any]
) -> str | None:
    """A review decision in one line (the card's Decision, ``reelflow status``), or None
    when the event is not a decision."""
    who = f" by {actor}" if actor else ""
    if kind == "changes_requested":
        changed = [f"{c.get('scene')}.{f}" for c in detail.get("changes") or []
                   for f in c if f != "scene"]  # fmt: skip
        return f"changes requested{who}: {', '.join(changed) or 'see the run'}"
    if kind == "status" and status in ("approved", "rejected"):
        why = detail.get("reason") or detail.get("notes")
        return f"{status}{who}" + (f": {why}" if why else "")
    return None


def last_decision(events: Iterable[Event]) -> str | None:
    """The newest decision among ``events`` (oldest first), as ``decision_text`` says it."""
    found = None
    for event in events:
        found = decision_text(event.kind, event.status, event.actor, event.detail) or found
    return found
