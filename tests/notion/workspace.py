"""What the fake Notion holds and the rules it enforces, each as Notion's API reference
(version 2025-09-03) states it. Where a rule comes from:

[errors]     https://developers.notion.com/reference/status-codes — 400 ``validation_error``
             ("The request body does not match the schema for the expected parameters"), 404
             ``object_not_found`` ("the resource does not exist. This error can also indicate
             that the resource has not been shared with owner of the bearer token").
[values]     https://developers.notion.com/reference/page-property-values — a page's
             properties must exist in its data source's schema and have its type; a
             ``select`` option that does not exist yet is created by the write; a ``status``
             option must be one of the property's options; rich text is at most 2,000
             characters per item (https://developers.notion.com/reference/request-limits).
[create-db]  https://developers.notion.com/reference/database-create — ``POST /v1/databases``
             with ``parent: {page_id}``, ``title`` and ``initial_data_source: {properties}``
             makes a database with its first data source (returned in ``data_sources``); the
             parent must be a page shared with the integration (404 otherwise); "Creating new
             status database properties is currently not supported".
[update-ds]  https://developers.notion.com/reference/update-data-source-properties — ``PATCH
             /v1/data_sources/{id}`` with ``properties``: a new name adds a property, ``null``
             removes one, ``{"name": …}`` renames; a select's ``options`` replace the old list
             (an omitted option is removed, a new one added); "It's not possible to update the
             name or options values of a status property via the API".
[status]     https://developers.notion.com/reference/property-object#status — a status
             property has ``options`` and ``groups`` (To-do / In progress / Complete, each with
             its ``option_ids``); a new board's Status is Not started / In progress / Done.
[trash]      https://developers.notion.com/reference/patch-page — a page in the trash cannot be
             edited (400 validation_error, "Can't edit block that is archived").
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NotionError", "Workspace", "notion_default_schema", "reelflow_schema", "rich"]

OPTIONS = [
    "Queued", "Processing", "Generating Assets", "Generating Composites", "Generating Video",
    "Generating Audio", "Generating SFX", "Assembling", "Awaiting Review", "Approved",
    "Rejected", "Review Expired", "Publishing", "Published", "Publish Waiting", "Publish Error",
    "Budget Exceeded", "Retry Scheduled", "Crashed", "Cancelled",
    "Asset Error", "Composite Error", "Video Error", "Audio Error", "SFX Error",
    "Assembly Error", "Manifest Error",
]  # fmt: skip
NOT_SHARED = "Make sure the relevant pages and databases are shared with your integration."


class NotionError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        codes = {400: "validation_error", 404: "object_not_found"}
        self.status, self.message = status, message
        self.code = code or codes.get(status, "error")


def reelflow_schema() -> dict[str, dict[str, Any]]:
    """A complete board with a ``status`` Status holding every one of our options."""
    kinds = {
        "Name": "title",
        "Video ID": "number",
        "Manifest": "rich_text",
        "Error": "rich_text",
        "Cost": "number",
        "Duration": "number",
        "Output": "rich_text",
        "Review": "url",
        "Decision": "rich_text",
        "Channel": "select",
        "Updated": "date",
    }
    schema = {name: _spec(name, kind, {}) for name, kind in kinds.items()}
    options = [{"id": f"o{i}", "name": n, "color": "default"} for i, n in enumerate(OPTIONS)]
    schema["Status"] = _spec("Status", "status", {"options": options, "groups": []})
    return schema


def notion_default_schema() -> dict[str, dict[str, Any]]:
    """A board a person makes in Notion: a title and a Status with its three defaults [status]."""
    options = [
        {"id": "ns", "name": "Not started", "color": "default"},
        {"id": "ip", "name": "In progress", "color": "blue"},
        {"id": "dn", "name": "Done", "color": "green"},
    ]
    groups = [
        {"id": "g1", "name": "To-do", "color": "gray", "option_ids": ["ns"]},
        {"id": "g2", "name": "In progress", "color": "blue", "option_ids": ["ip"]},
        {"id": "g3", "name": "Complete", "color": "green", "option_ids": ["dn"]},
    ]
    return {
        "Name": _spec("Name", "title", {}),
        "Status": _spec("Status", "status", {"options": options, "groups": groups}),
    }


def _spec(name: str, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex[:4], "name": name, "type": kind, kind: config}


def rich(content: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "text",
            "text": {"content": content, "link": None},
            "plain_text": content,
            "annotations": {"bold": False, "code": False},
            "href": None,
        }
    ]


def iso(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime(at))  # Notion: whole minutes


@dataclass
class Database:
    id: str
    title: str
    source: str
    parent: str | None
    shared: bool = True
    trashed: bool = False


@dataclass
class Workspace:
    """Databases, their data sources' schemas, pages, page bodies and shared parent pages."""

    databases: dict[str, Database] = field(default_factory=dict)
    schemas: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # by source
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    parents: set[str] = field(default_factory=set)  # plain pages shared with the integration

    def add_database(
        self,
        schema: dict[str, Any],
        *,
        title: str = "Videos",
        parent: str | None = None,
        database_id: str | None = None,
        source_id: str | None = None,
    ) -> Database:
        db = Database(
            database_id or str(uuid.uuid4()), title, source_id or str(uuid.uuid4()), parent
        )
        self.databases[db.id] = db
        self.schemas[db.source] = schema
        if parent is not None:
            block = {
                "object": "block",
                "id": db.id,
                "type": "child_database",
                "child_database": {"title": title},
            }
            self.children.setdefault(parent, []).append(block)
        return db

    # --- lookups: 404 for what does not exist or is not shared [errors] ------------------

    def database(self, database_id: str) -> Database:
        db = self.databases.get(database_id)
        if db is None or not db.shared or db.trashed:
            raise NotionError(404, f"Could not find database with ID: {database_id}. {NOT_SHARED}")
        return db

    def source(self, source: str) -> Database:
        db = next((d for d in self.databases.values() if d.source == source), None)
        if db is None or not db.shared or db.trashed:
            raise NotionError(404, f"Could not find data_source with ID: {source}. {NOT_SHARED}")
        return db

    def page(self, page_id: str) -> dict[str, Any]:
        page = self.pages.get(page_id)
        if page is None and page_id in self.parents:
            return {
                "object": "page",
                "id": page_id,
                "parent": {"type": "workspace"},
                "properties": {"title": {"type": "title", "title": rich("Home")}},
            }
        source = page["parent"]["data_source_id"] if page else None
        db = next((d for d in self.databases.values() if d.source == source), None)
        if page is None or db is None or not db.shared:  # a trashed board's pages stay readable
            raise NotionError(404, f"Could not find page with ID: {page_id}. {NOT_SHARED}")
        return page

    # --- databases and data sources [create-db] [update-ds] -------------------------------

    def create_database(self, body: dict[str, Any]) -> dict[str, Any]:
        parent = (body.get("parent") or {}).get("page_id")
        if parent not in self.parents:
            raise NotionError(404, f"Could not find page with ID: {parent}. {NOT_SHARED}")
        properties = (body.get("initial_data_source") or {}).get("properties") or {}
        schema: dict[str, Any] = {}
        for name, config in properties.items():
            kind = next(iter(config))
            if kind == "status":
                raise NotionError(
                    400, "Creating new status database properties is currently not supported."
                )
            schema[name] = _spec(name, kind, _with_ids(kind, config[kind]))
        title = "".join(p["text"]["content"] for p in body.get("title") or [])
        return self.database_object(self.add_database(schema, title=title, parent=parent))

    def database_object(self, db: Database) -> dict[str, Any]:
        return {
            "object": "database",
            "id": db.id,
            "title": rich(db.title),
            "parent": {"type": "page_id", "page_id": db.parent},
            "data_sources": [{"id": db.source, "name": db.title}],
        }

    def source_object(self, source: str) -> dict[str, Any]:
        db = self.source(source)
        return {
            "object": "data_source",
            "id": source,
            "properties": self.schemas[source],
            "parent": {"type": "database_id", "database_id": db.id},
        }

    def update_source(self, source: str, body: dict[str, Any]) -> dict[str, Any]:
        self.source(source)
        schema = self.schemas[source]
        for name, change in (body.get("properties") or {}).items():
            if change is None:
                schema.pop(name, None)
                continue
            current = schema.get(name)
            if current is not None and "name" in change and change["name"] != name:
                schema[change["name"]] = {**schema.pop(name), "name": change["name"]}
                continue
            kind = next((k for k in change if k != "name"), None)
            if kind is None:
                continue
            if kind == "status":
                raise NotionError(
                    400,
                    "It's not possible to update the name or options values "
                    "of a status property via the API.",
                )
            config = _with_ids(kind, change[kind], current.get(kind) if current else None)
            schema[name] = {**(current or _spec(name, kind, {})), "type": kind, kind: config}
            if current and current["type"] != kind:
                schema[name].pop(current["type"], None)
        return self.source_object(source)

    # --- pages [values] [trash] -----------------------------------------------------------

    def create_page(self, body: dict[str, Any]) -> dict[str, Any]:
        source = str((body.get("parent") or {}).get("data_source_id"))
        db = self.source(source)
        page_id = str(uuid.uuid4())
        page = {
            "object": "page",
            "id": page_id,
            "created_time": iso(),
            "last_edited_time": iso(),
            "in_trash": False,
            "archived": False,
            "parent": {"type": "data_source_id", "data_source_id": source, "database_id": db.id},
            "properties": {},
            "url": f"https://www.notion.so/{page_id.replace('-', '')}",
        }
        page["properties"] = self.values(source, body.get("properties") or {})
        self.pages[page_id] = page
        return page

    def update_page(self, page_id: str, body: dict[str, Any]) -> dict[str, Any]:
        page = self.page(page_id)
        if page.get("in_trash"):
            raise NotionError(
                400,
                "Can't edit block that is archived. You must unarchive the block before editing.",
            )
        values = self.values(page["parent"]["data_source_id"], body.get("properties") or {})
        page["properties"].update(values)
        page["last_edited_time"] = iso()
        return page

    def values(self, source: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Written values checked against the schema, stored the way Notion returns them."""
        schema = self.schemas[source]
        stored = {}
        for name, value in properties.items():
            spec = schema.get(name)
            if spec is None:
                raise NotionError(400, f"{name} is not a property that exists.")
            kind = spec["type"]
            if kind not in value:
                raise NotionError(400, f"{name} is expected to be {kind}.")
            stored[name] = {"id": spec["id"], "type": kind, kind: self._value(spec, value[kind])}
        return stored

    def _value(self, spec: dict[str, Any], data: Any) -> Any:
        name, kind = spec["name"], spec["type"]
        if kind in ("title", "rich_text"):
            for i, part in enumerate(data):
                length = len(part["text"]["content"])
                if length > 2000:
                    raise NotionError(
                        400,
                        f"body.properties.{name}.{kind}[{i}].text.content."
                        f"length should be ≤ `2000`, instead was `{length}`.",
                    )
            return rich("".join(part["text"]["content"] for part in data))
        if kind == "status":
            names = {o["name"] for o in spec["status"]["options"]}
            if data["name"] not in names:
                raise NotionError(
                    400, f'Invalid status option. Status option "{data["name"]}" does not exist.'
                )
            return {"id": "x", "name": data["name"], "color": "default"}
        if kind == "select" and data is not None:
            options = spec["select"].setdefault("options", [])
            if data["name"] not in {o["name"] for o in options}:  # created by the write
                options.append(
                    {"id": uuid.uuid4().hex[:4], "name": data["name"], "color": "default"}
                )
            return {"name": data["name"], "color": "default"}
        if kind == "number" and data is not None and not isinstance(data, int | float):
            raise NotionError(400, f"body.properties.{name}.number should be a number.")
        return data


def _with_ids(kind: str, config: dict[str, Any], old: dict[str, Any] | None = None) -> Any:
    """A select's options as the schema keeps them: given ones (by id or name) and new ones."""
    if kind != "select":
        return dict(config)
    before = {o["id"]: o for o in (old or {}).get("options", [])}
    options = []
    for option in config.get("options") or []:
        known = before.get(option.get("id", "")) or next(
            (o for o in before.values() if o["name"] == option.get("name")), None
        )
        options.append(known or {"id": uuid.uuid4().hex[:4], "color": "default", **option})
    return {"options": options}
