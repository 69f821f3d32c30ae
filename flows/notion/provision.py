"""Making a board, adding what a board lacks, checking one, and saying what Notion refused.

Notion API 2025-09-03: a database holds data sources, and the schema (the properties) is
the data source's. ``create_board`` makes a database under a page with its first data
source (``initial_data_source``), or finds the one a previous ``notion init`` made there
(same title): run twice, one board. ``fix_board`` adds the missing properties and the
missing options of a ``select`` status in one PATCH of the data source; a ``status``
property's options cannot be changed through the API, so its mapping is reported instead.
Every function takes a ``NotionCaller``; nothing here imports Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notion_client import AsyncClient

from flows.core.errors import ConfigError, NotionError
from flows.notion.client import NotionCaller, list_children
from flows.notion.schema import FIELDS, BoardConfig, BoardMap, board_schema, map_board
from flows.notion.schema import status_options as our_options

__all__ = [
    "BoardReport",
    "check_board",
    "create_board",
    "explain",
    "fix_board",
    "read_schema",
]


def explain(error: NotionError, database: str) -> str:
    """What a refusal means for board ``database``, and what to do (one sentence)."""
    status, code = getattr(error, "status", 0), getattr(error, "code", "")
    if status == 401:
        return f"the token was refused ({error}): save the integration's token on the board"
    if status in (403, 404):
        return (
            f"database {database} is not found or not shared with the integration, or is in "
            f"the trash ({error}): in Notion open the board's ••• menu → Connections → add "
            "the integration (or restore it from the trash), or make a board with "
            "`reelflow notion init`"
        )
    if status == 400 and code == "validation_error":
        return (
            f"database {database} refused the card ({error}): a property was renamed or "
            "removed, or the board is in the trash; run `reelflow notion check --fix`"
        )
    return f"Notion could not be asked about database {database} ({error})"


async def read_schema(call: NotionCaller, source: str) -> dict[str, Any]:
    """The data source's properties (its schema), by property name."""
    found = await call(lambda c: c.data_sources.retrieve(data_source_id=source))
    return dict(found.get("properties") or {})


@dataclass
class BoardReport:
    """What ``check_board`` found: problems (it is not ready), notes (how it is used)."""

    source: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixable: bool = False


async def check_board(call: NotionCaller, board: BoardConfig) -> BoardReport:
    """The token, the database and its data source, every field's property, the options."""
    report = BoardReport()
    database = board.database_id
    try:
        found = await call(lambda c: c.databases.retrieve(database_id=database))
    except NotionError as exc:
        report.problems.append(explain(exc, database))
        return report
    sources = [str(s["id"]) for s in found.get("data_sources") or []]
    source = board.data_source_id or (sources[0] if sources else None)
    if source is None or source not in sources:
        have = ", ".join(sources) or "none"
        report.problems.append(f"data source {source} is not in database {database} ({have})")
        return report
    report.source = source
    try:
        report.properties = await read_schema(call, source)
    except NotionError as exc:
        report.problems.append(explain(exc, database))
        return report
    describe(map_board(board, report.properties), report)
    return report


def describe(mapped: BoardMap, report: BoardReport) -> None:
    """Fill ``report`` with what ``mapped`` lacks and how the status is shown."""
    for missing in mapped.missing:
        report.problems.append(f"property {missing} is missing: `--fix` adds it")
        report.fixable = True
    for wrong in mapped.wrong:
        report.problems.append(f"property {wrong}: rename it, or name another in the block")
    if mapped.title is None:
        report.problems.append("the data source has no title property")
    if mapped.status_kind == "select" and mapped.status:
        have = {o.get("name") for o in _select_options(report.properties, mapped.status)}
        lacking = [o for o in mapped.options.values() if o not in have]
        if lacking:
            report.notes.append(
                f"select {mapped.status!r} gets {len(lacking)} option(s) on first use "
                "(or now, with `--fix`)"
            )
            report.fixable = True
    shown = [f"{s} → {o!r}" for s, o in mapped.mapped()]
    if shown:
        report.notes.append(
            f"status property {mapped.status!r} lacks some of our options (the API cannot add "
            "options to a status) and shows: " + ", ".join(shown)
        )


def _select_options(properties: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return list((properties.get(name) or {}).get("select", {}).get("options") or [])


async def fix_board(call: NotionCaller, board: BoardConfig, report: BoardReport) -> list[str]:
    """Add every missing property and select option in one PATCH; one line per change."""
    assert report.source is not None
    mapped = map_board(board, report.properties)
    keys = [k for k in FIELDS if board.property_name(k) not in report.properties]
    if mapped.status is None and board.status_property not in report.properties:
        keys.insert(0, "status")
    patch = board_schema(board, keys)
    if mapped.status and mapped.status_kind == "select":
        have = _select_options(report.properties, mapped.status)
        keep = [{"id": o["id"], "name": o["name"]} for o in have if o.get("id")]
        options = our_options(board, keep=keep)
        if len(options) > len(have):
            patch[mapped.status] = {"select": {"options": options}}
    if not patch:
        return []
    source = report.source
    await call(lambda c: c.data_sources.update(source, properties=patch))
    return [f"added {name} ({next(iter(spec))})" for name, spec in patch.items()]


async def create_board(
    call: NotionCaller, board: BoardConfig, *, parent: str, title: str
) -> tuple[str, str, bool]:
    """(database id, data source id, made now) of the board titled ``title`` under page
    ``parent``: the one there, or a new one with the full schema."""
    try:
        await call(lambda c: c.pages.retrieve(parent))
    except NotionError as exc:
        if getattr(exc, "status", 0) != 404:
            raise
        raise await _not_a_page(call, parent, exc) from exc
    for block in await list_children(call, parent):
        named = (block.get("child_database") or {}).get("title")
        if block.get("type") == "child_database" and named == title:
            found = str(block["id"])

            async def retrieve(client: AsyncClient, database_id: str = found) -> Any:
                return await client.databases.retrieve(database_id=database_id)

            database = await call(retrieve)
            sources = database.get("data_sources") or []
            if sources:
                return found, str(sources[0]["id"]), False
    made = await call(
        lambda c: c.databases.create(
            parent={"type": "page_id", "page_id": parent},
            title=[{"type": "text", "text": {"content": title}}],
            initial_data_source={"properties": board_schema(board)},
        ),
        retry=False,
    )
    return str(made["id"]), str(made["data_sources"][0]["id"]), True


async def _not_a_page(call: NotionCaller, parent: str, error: NotionError) -> ConfigError:
    """Why ``parent`` cannot hold a board: a database given as a page, or not shared."""
    try:
        await call(lambda c: c.databases.retrieve(database_id=parent))
    except NotionError:
        return ConfigError(
            f"page {parent} is not found or not shared with the integration ({error}): in "
            "Notion open the page's ••• menu → Connections → add the integration"
        )
    return ConfigError(
        f"{parent} is a database, not a page: give the page that should hold the board, or "
        f"use this database with `reelflow channel create NAME --notion-database {parent}`"
    )
