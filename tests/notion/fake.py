"""A local stand-in for Notion's API (version 2025-09-03), spoken to over real HTTP.

It behaves like the service where our code can tell: a bearer token and the Notion-Version
header are required; errors come as ``{"object": "error", "status", "code", "message",
"request_id"}``; more than ``rate`` requests in any ``window`` seconds are answered 429 with
Retry-After; databases hold data sources, which are queried with filters and has_more /
next_cursor pagination, created under a shared page and their schema changed by PATCH; pages
are created and updated against the data source's schema; page bodies are block children.
The rules, and where in Notion's API reference each comes from, are in ``workspace.py``.
Faults (any status, with or without Retry-After) and latency can be injected, a board can be
unshared, deleted or have a property renamed, and every request is recorded with its time.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.notion import workspace
from tests.notion.workspace import NotionError, Workspace, reelflow_schema, rich

TOKEN = "secret_FAKE-notion-canary-7f3a9c2e"  # searched for in logs and the database
VERSION = "2025-09-03"
OPTIONS = workspace.OPTIONS
CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "restricted_resource",
    404: "object_not_found",
    409: "conflict_error",
    429: "rate_limited",
    500: "internal_server_error",
    503: "service_unavailable",
    504: "gateway_timeout",
    529: "service_overload",
}
default_schema = reelflow_schema


@dataclass
class Seen:
    """One request as it arrived: monotonic and wall-clock time, what, and the answer."""

    at: float
    wall: float
    method: str
    path: str
    body: Any
    status: int = 0
    page: str | None = None  # the page a create made or an update changed


@dataclass
class Fault:
    status: int
    times: int
    retry_after: float | None = None
    after: bool = False  # do the work, then answer with the fault (the answer is lost)
    request: str = ""  # only requests starting like this ("POST pages"); any when empty


@dataclass
class FakeNotion:
    """The fake service. ``start()`` it, point a board's base URL at ``url``."""

    token: str = TOKEN
    latency: float = 0.0
    rate: int = 3
    window: float = 1.0
    retry_after: float = 1.0
    max_page_size: int = 100
    schema: dict[str, dict[str, Any]] = field(default_factory=reelflow_schema)
    database_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    data_source_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    requests: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    parent_page: str = field(default_factory=lambda: str(uuid.uuid4()))  # shared, holds boards

    def __post_init__(self) -> None:
        self.space = Workspace()
        self.space.add_database(
            self.schema, database_id=self.database_id, source_id=self.data_source_id
        )
        self.space.parents.add(self.parent_page)
        self.pages = self.space.pages
        self.children = self.space.children
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- control ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeNotion:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        routes = [Route("/v1/{path:path}", self._handle, methods=["GET", "POST", "PATCH"])]
        config = uvicorn.Config(
            Starlette(routes=routes),
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the fake Notion did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def fail(
        self, status: int, times: int = 1, *, retry_after: float | None = None,
        after: bool = False, request: str = "",
    ) -> None:  # fmt: skip
        """Answer the next ``times`` authorised requests (those starting like ``request``,
        e.g. "POST pages") with ``status``; ``after``: once the request was carried out, as
        when a gateway loses the answer."""
        with self._lock:
            self.faults.append(Fault(status, times, retry_after, after, request))

    def add_card(
        self,
        title: str,
        *,
        status: str = "Queued",
        manifest: str | None = None,
        code: str | None = None,
        language: str = "yaml",
    ) -> str:
        """A card as a person would make it on the board; returns its page id."""
        kind = self.schema["Status"]["type"]
        props: dict[str, Any] = {
            "Name": {"title": _text(title)},
            "Status": {kind: {"name": status}},
        }
        if manifest is not None:
            props["Manifest"] = {"rich_text": _text(manifest)}
        with self._lock:
            page = self.space.create_page(
                {"parent": {"data_source_id": self.data_source_id}, "properties": props}
            )
        if code is not None:
            block = {
                "object": "block",
                "id": str(uuid.uuid4()),
                "type": "code",
                "code": {"language": language, "rich_text": _rich(code)},
            }
            self.children[page["id"]] = [_paragraph("The plan:"), block]
        return str(page["id"])

    def unshare(self, database_id: str | None = None) -> None:
        """The integration loses access to the board (Connections → remove)."""
        self.space.databases[database_id or self.database_id].shared = False

    def delete_board(self, database_id: str | None = None) -> None:
        """The board goes to the trash, and its pages with it."""
        db = self.space.databases[database_id or self.database_id]
        db.trashed = True
        for page in self.pages.values():
            if page["parent"]["data_source_id"] == db.source:
                page["in_trash"] = page["archived"] = True

    def restore_board(self, database_id: str | None = None) -> None:
        db = self.space.databases[database_id or self.database_id]
        db.trashed = False
        for page in self.pages.values():
            if page["parent"]["data_source_id"] == db.source:
                page["in_trash"] = page["archived"] = False

    def rename_property(self, old: str, new: str, source: str | None = None) -> None:
        """A person renames a column in Notion."""
        with self._lock:
            self.space.update_source(
                source or self.data_source_id, {"properties": {old: {"name": new}}}
            )

    def board(self, database_id: str) -> tuple[str, dict[str, Any]]:
        """(data source id, schema) of a database made through the API."""
        source = self.space.databases[database_id].source
        return source, self.space.schemas[source]

    # --- what happened ----------------------------------------------------------------------

    def value(self, page_id: str, name: str) -> Any:
        """A property's plain value on a card (text, number, option name)."""
        prop = self.pages[page_id]["properties"].get(name) or {}
        data = prop.get(prop.get("type", ""), None)
        if isinstance(data, list):
            return "".join(part["plain_text"] for part in data)
        if isinstance(data, dict):
            return data.get("name", data)
        return data

    def cards(self, database_id: str | None = None) -> list[str]:
        source = self.space.databases[database_id or self.database_id].source
        return [p for p, page in self.pages.items() if page["parent"]["data_source_id"] == source]

    def seen(
        self, method: str | None = None, path: str = "", status: int | None = None
    ) -> list[Seen]:
        with self._lock:
            return [
                s
                for s in self.requests
                if (method is None or s.method == method)
                and s.path.startswith(path)
                and (status is None or s.status == status)
            ]

    def written_statuses(self, page_id: str | None = None) -> list[str]:
        """Status options written by accepted creates and updates, in arrival order."""
        names = []
        for s in self.seen(status=200):
            writes = (s.method == "POST" and s.path == "pages") or s.method == "PATCH"
            if not writes or (page_id is not None and s.page != page_id):
                continue
            status = (s.body or {}).get("properties", {}).get("Status")
            if status:
                names.append((status.get("status") or status.get("select"))["name"])
        return names

    def peak(self, window: float = 1.0) -> int:
        """The most requests that arrived within any ``window`` seconds."""
        times = sorted(s.at for s in self.seen())
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # --- the service ------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        now, wall = time.monotonic(), time.time()
        body = await request.json() if request.method != "GET" and await request.body() else None
        seen = Seen(now, wall, request.method, request.path_params["path"], body)
        with self._lock:
            self.requests.append(seen)
            recent = sum(1 for s in self.requests if now - s.at < self.window)
        try:
            response = await self._answer(request, seen, recent)
        except NotionError as exc:
            response = _error(exc.status, exc.code, exc.message)
        seen.status = response.status_code
        return response

    def _json(self, seen: Seen, query: dict[str, str]) -> Response:
        with self._lock:
            data = self._route(seen.method, seen.path.strip("/").split("/"), seen.body, query)
        if data.get("object") == "page":
            seen.page = data["id"]
        return JSONResponse(data)

    async def _answer(self, request: Request, seen: Seen, recent: int) -> Response:
        if recent > self.rate:
            return _error(
                429,
                "rate_limited",
                "You have been rate limited. Please try again later.",
                retry_after=self.retry_after,
            )
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "API token is invalid.")
        if request.headers.get("notion-version") != VERSION:
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        fault = self._next_fault(f"{seen.method} {seen.path}")
        if fault is not None:
            if fault.after:
                self._json(seen, dict(request.query_params))
            if fault.status == 502:
                return PlainTextResponse("<html>502 Bad Gateway</html>", status_code=502)
            return _error(
                fault.status,
                CODES.get(fault.status, "error"),
                "Injected failure.",
                retry_after=fault.retry_after,
            )
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._json(seen, dict(request.query_params))

    def _next_fault(self, request: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if request.startswith(fault.request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def _route(self, method: str, parts: list[str], body: Any, query: dict[str, str]) -> Any:
        space = self.space
        match method, parts:
            case "POST", ["databases"]:
                return space.create_database(body or {})
            case "GET", ["databases", database_id]:
                return space.database_object(space.database(database_id))
            case "GET", ["data_sources", source]:
                return space.source_object(source)
            case "PATCH", ["data_sources", source]:
                return space.update_source(source, body or {})
            case "POST", ["data_sources", source, "query"]:
                space.source(source)
                return self._query(source, body or {})
            case "POST", ["pages"]:
                return space.create_page(body or {})
            case "GET", ["pages", page_id]:
                return space.page(page_id)
            case "PATCH", ["pages", page_id]:
                return space.update_page(page_id, body or {})
            case "GET", ["blocks", page_id, "children"]:
                blocks = self.children.get(page_id, [])
                return _paginate(
                    blocks,
                    query.get("start_cursor"),
                    int(query.get("page_size", 100)),
                    self.max_page_size,
                    "block",
                )
        raise NotionError(
            400, f"Invalid request URL: {method} /{'/'.join(parts)}", "invalid_request_url"
        )

    def _query(self, source: str, body: dict[str, Any]) -> dict[str, Any]:
        rows = [
            p for p in self.pages.values()
            if p["parent"]["data_source_id"] == source and not p.get("in_trash")
            and _matches(p, body.get("filter"))
        ]  # fmt: skip
        size = int(body.get("page_size") or 100)
        return _paginate(rows, body.get("start_cursor"), size, self.max_page_size, "page")


def _text(content: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": content}}]


_rich = rich


def _paragraph(content: str) -> dict[str, Any]:
    return {
        "object": "block",
        "id": str(uuid.uuid4()),
        "type": "paragraph",
        "paragraph": {"rich_text": _rich(content)},
    }


def _error(status: int, code: str, message: str, *, retry_after: float | None = None) -> Response:
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else None
    body = {
        "object": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": str(uuid.uuid4()),
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _paginate(
    items: list[Any], cursor: str | None, size: int, most: int, kind: str
) -> dict[str, Any]:
    start = int(cursor) if cursor else 0
    size = max(1, min(size, most))
    chunk = items[start : start + size]
    more = start + size < len(items)
    return {
        "object": "list",
        "results": chunk,
        "has_more": more,
        "next_cursor": str(start + size) if more else None,
        "type": kind,
        kind: {},
    }


def _matches(page: dict[str, Any], where: dict[str, Any] | None) -> bool:
    if not where:
        return True
    if "and" in where:
        return all(_matches(page, w) for w in where["and"])
    if "or" in where:
        return any(_matches(page, w) for w in where["or"])
    if "timestamp" in where:  # {"timestamp": "created_time", "created_time": {"on_or_after"}}
        condition = where[where["timestamp"]]
        return bool(page[where["timestamp"]] >= condition["on_or_after"].replace("+00:00", "Z"))
    prop = page["properties"].get(where["property"]) or {}
    kind = next(k for k in where if k != "property")
    condition = where[kind]
    data = prop.get(prop.get("type", ""), None)
    value = (
        data.get("name")
        if isinstance(data, dict)
        else ("".join(p["plain_text"] for p in data) if isinstance(data, list) else data)
    )
    if "equals" in condition:
        return bool(value == condition["equals"])
    if "contains" in condition:
        return condition["contains"] in (value or "")
    raise NotionError(400, f"unsupported filter {where}")
