"""A board's shape: our fields, the Notion property types each fits, and how a real board's
schema maps onto them.

A board a person made has a title and a Status, maybe a few more. ``map_board`` reads the
data source's schema (``properties``, as ``data_sources.retrieve`` returns it) and decides,
for every field we write, which existing property takes it (by the name configured in the
NotionBoard block, of a compatible type) — and, for the status, which option shows each of
our statuses:

* a ``select`` property takes our option names: Notion creates a missing option on write;
* a ``status`` property's options cannot be added through the API (Notion's "Update data
  source properties": "It's not possible to update the name or options values of a status
  property via the API"), so each status goes to the option with the same name ignoring case
  and punctuation, else to the first option of its Notion group (To-do / In progress /
  Complete), else to the board's first option.

A field without a property is left out of every write (``BoardMap.missing`` says which, for
one warning per board and for ``reelflow notion check``); ``board_schema`` is the full schema
``reelflow notion init`` creates and ``check --fix`` adds from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "DEFAULT_STATUS_OPTIONS",
    "FIELDS",
    "NOTION_VERSION",
    "BoardConfig",
    "BoardMap",
    "board_schema",
    "map_board",
    "normalized",
    "status_group",
]

NOTION_VERSION = "2025-09-03"

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
    "publishing": "Publishing",
    "published": "Published",
    "publish_waiting": "Publish Waiting",
    "publish_error": "Publish Error",
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

# Our status → (Notion's status group, the colour `notion init` gives its select option).
_TODO, _DOING, _DONE = "To-do", "In progress", "Complete"
_GROUPS: dict[str, tuple[str, str]] = {
    "queued": (_TODO, "gray"),
    "processing": (_DOING, "blue"),
    "awaiting_review": (_DOING, "yellow"),
    "retry_scheduled": (_DOING, "orange"),
    "crashed": (_DOING, "red"),
    "approved": (_DONE, "green"),
    "rejected": (_DONE, "brown"),
    "review_expired": (_DONE, "brown"),
    "cancelled": (_DONE, "brown"),
    "publishing": (_DOING, "purple"),
    "publish_waiting": (_DOING, "orange"),
    "published": (_DONE, "green"),
    "publish_error": (_DONE, "red"),
}


def status_group(status: str) -> tuple[str, str]:
    """The Notion status group and select colour of one of our statuses."""
    if status in _GROUPS:
        return _GROUPS[status]
    if status.startswith(("generating_", "assembling")):
        return _DOING, "blue"
    return _DONE, "red"  # every *_error, budget_exceeded


# Our fields → the Notion property types that can show them (the first is what we create).
FIELDS: dict[str, tuple[str, ...]] = {
    "video_id": ("number", "rich_text"),
    "manifest": ("rich_text", "url"),
    "error": ("rich_text",),
    "cost": ("number", "rich_text"),
    "duration": ("number", "rich_text"),
    "output": ("url", "rich_text"),
    "review": ("url", "rich_text"),
    "decision": ("rich_text",),
    "channel": ("select", "rich_text"),
    "updated": ("date",),
}
_FORMATS = {"cost": {"format": "dollar"}, "duration": {"format": "number"}}


class BoardConfig(BaseModel):
    """A board as the flows see it: the NotionBoard block's fields (kept in step by a test)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    token: SecretStr
    database_id: str
    data_source_id: str | None = None
    base_url: str = "https://api.notion.com"
    status_property: str = "Status"
    status_property_type: Literal["status", "select"] = "status"  # used before the schema is read
    status_options: dict[str, str] = dict(DEFAULT_STATUS_OPTIONS)
    title_property: str = "Name"
    video_id_property: str | None = "Video ID"
    manifest_property: str | None = "Manifest"
    error_property: str | None = "Error"
    cost_property: str | None = "Cost"
    duration_property: str | None = "Duration"
    output_property: str | None = "Output"
    output_property_type: Literal["rich_text", "url"] = "rich_text"  # idem
    review_property: str | None = "Review"
    decision_property: str | None = "Decision"
    channel_property: str | None = "Channel"
    updated_property: str | None = "Updated"
    plan_roots: list[str] | None = None
    plan_hosts: list[str] = []
    plan_max_bytes: int = 1_000_000

    def option(self, status: str) -> str:
        """Our name for one of our statuses on this board (a select option's name)."""
        return self.status_options.get(status) or status.replace("_", " ").title()

    def property_name(self, key: str) -> str | None:
        """The configured property name of one of ``FIELDS``."""
        return getattr(self, f"{key}_property")  # type: ignore[no-any-return]


def normalized(name: str) -> str:
    """A name compared ignoring case and punctuation ("In-progress" == "in progress")."""
    return re.sub(r"[^0-9a-z]+", "", name.lower())


@dataclass(frozen=True)
class BoardMap:
    """Where each of our fields goes on one board, as its schema says today."""

    title: str | None
    status: str | None = None
    status_kind: str = "select"  # "status" or "select"
    properties: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (name, type)
    options: dict[str, str] = field(default_factory=dict)  # our status → the option shown
    missing: tuple[str, ...] = ()  # "Video ID (number)": fields with no property
    wrong: tuple[str, ...] = ()  # properties of our name but an incompatible type

    def option(self, status: str) -> str:
        return self.options.get(status) or status.replace("_", " ").title()

    def mapped(self) -> list[tuple[str, str]]:
        """(our status, option) pairs where a ``status`` board shows another option than ours."""
        if self.status_kind != "status":
            return []
        return [
            (s, o) for s, o in self.options.items()
            if normalized(o) not in (normalized(s), normalized(DEFAULT_STATUS_OPTIONS.get(s, s)))
        ]  # fmt: skip


def map_board(board: BoardConfig, properties: dict[str, Any]) -> BoardMap:
    """How ``board``'s fields land on a data source with this schema."""
    titles = [n for n, p in properties.items() if p.get("type") == "title"]
    title = board.title_property if board.title_property in titles else next(iter(titles), None)
    status, kind = _status_property(board, properties)
    mapped: dict[str, tuple[str, str]] = {}
    missing, wrong = [], []
    for key, kinds in FIELDS.items():
        name = board.property_name(key)
        if not name:
            continue
        found = properties.get(name)
        if found is None:
            missing.append(f"{name} ({kinds[0]})")
        elif found.get("type") in kinds:
            mapped[key] = (name, str(found["type"]))
        else:
            wrong.append(f"{name} is {found.get('type')}, expected {' or '.join(kinds)}")
    if status is None:
        missing.insert(0, f"{board.status_property} (select)")
    spec = properties.get(status or "", {}).get(kind, {})
    options = _options(board, kind, spec) if status else {}
    return BoardMap(title, status, kind, mapped, options, tuple(missing), tuple(wrong))


def _status_property(board: BoardConfig, properties: dict[str, Any]) -> tuple[str | None, str]:
    """The status property: the configured name (status or select), else the only status."""
    found = properties.get(board.status_property)
    if found is not None and found.get("type") in ("status", "select"):
        return board.status_property, str(found["type"])
    statuses = [n for n, p in properties.items() if p.get("type") == "status"]
    if found is None and len(statuses) == 1:
        return statuses[0], "status"
    return None, "select"


def _options(board: BoardConfig, kind: str, spec: dict[str, Any]) -> dict[str, str]:
    """Our status → the option that shows it (see the module's docstring)."""
    existing = [str(o.get("name")) for o in spec.get("options") or [] if o.get("name")]
    by_name = {normalized(n): n for n in existing}
    result = {}
    for status in board.status_options:
        ours = board.option(status)
        same = by_name.get(normalized(ours)) or by_name.get(normalized(status))
        if same is not None or kind == "select":
            result[status] = same or ours  # a select creates a missing option on write
        else:
            result[status] = _in_group(status_group(status)[0], spec, existing)
    return result


def _in_group(group: str, spec: dict[str, Any], existing: list[str]) -> str:
    """The first option of a status property's group (by name, else by position)."""
    groups = spec.get("groups") or []
    names = {str(o.get("id")): str(o.get("name")) for o in spec.get("options") or []}
    order = [_TODO, _DOING, _DONE]
    chosen = next((g for g in groups if normalized(g.get("name", "")) == normalized(group)), None)
    if chosen is None and len(groups) == len(order):
        chosen = groups[order.index(group)]
    ids = (chosen or {}).get("option_ids") or []
    for option_id in ids:
        if option_id in names:
            return names[option_id]
    return existing[0] if existing else group


def board_schema(board: BoardConfig, keys: list[str] | None = None) -> dict[str, Any]:
    """The property schema of a full board (or of ``keys`` only: "title", "status", FIELDS)."""
    wanted = keys if keys is not None else ["title", "status", *FIELDS]
    schema: dict[str, Any] = {}
    for key in wanted:
        if key == "title":
            schema[board.title_property] = {"title": {}}
        elif key == "status":
            schema[board.status_property] = {"select": {"options": status_options(board)}}
        elif (name := board.property_name(key)) is not None:
            kind = FIELDS[key][0]
            schema[name] = {kind: _FORMATS.get(key, {})}
    return schema


def status_options(board: BoardConfig, keep: list[dict[str, Any]] | None = None) -> list[Any]:
    """Every select option of ours (after ``keep``, the options the board has already)."""
    options = list(keep or [])
    have = {normalized(str(o.get("name"))) for o in options}
    for status in board.status_options:
        name = board.option(status)
        if normalized(name) not in have:
            options.append({"name": name, "color": status_group(status)[1]})
            have.add(normalized(name))
    return options
