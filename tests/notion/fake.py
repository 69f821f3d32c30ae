"""A local stand-in for Notion's API (version 2025-09-03), spoken to over real HTTP.

It behaves like the service where our code can tell: a bearer token and the Notion-Version
header are required; errors come as ``{"object": "error", "status", "code", "message",
"request_id"}``; more than ``rate`` requests in any ``window`` seconds are answered 429 with
Retry-After; databases hold data sources, which are queried with filters and has_more /
next_cursor pagination; pages are created and updated against the data source's schema
(unknown properties, wrong types, unknown status options and rich text over 2,000 characters
are refused); page bodies are block children. Faults (any status, with or without
Retry-After) and latency can be injected, and every request is recorded with its time.
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

TOKEN = "secret_FAKE-notion-canary-7f3a9c2e"  # searched for in logs and the database
VERSION = "2025-09-03"
OPTIONS = [
    "Queued",
    "Processing",
    "Generating Assets",
    "Generating Composites",
    "Generating Video",
    "Generating Audio",
    "Generating SFX",
    "Assembling",
    "Awaiting Review",
    "Approved",
    "Rejected",
    "Review Expired",
    "Budget Exceeded",
    "Retry Scheduled",
    "Crashed",
    "Cancelled",
    "Asset Error",
    "Composite Error",
    "Video Error",
    "Audio Error",
    "SFX Error",
    "Assembly Error",
    "Manifest Error",
]
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


def default_schema() -> dict[str, dict[str, Any]]:
    """The board's properties as Notion describes them."""
    status = {
        "options": [{"id": f"o{i}", "name": n, "color": "default"} for i, n in enumerate(OPTIONS)],
        "groups": [],
    }
    kinds = {
        "Name": "title",
        "Video ID": "number",
        "Manifest": "rich_text",
        "Error": "rich_text",
        "Cost": "number",
        "Duration": "number",
        "Output": "rich_text",
    }
    schema = {
        name: {"id": name[:4].lower(), "name": name, "type": kind, kind: {}}
        for name, kind in kinds.items()
    }
    schema["Status"] = {"id": "stat", "name": "Status", "type": "status", "status": status}
    return schema


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


class NotionError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or CODES.get(status, "error")


@dataclass
class FakeNotion:
    """The fake service. ``start()`` it, point a board's base URL at ``url``."""

    token: str = TOKEN
    latency: float = 0.0
    rate: int = 3
    window: float = 1.0
    retry_after: float = 1.0
    max_page_size: int = 100
    schema: dict[str, dict[str, Any]] = field(default_factory=default_schema)
    database_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    data_source_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    requests: list[Seen] = field(default_factory=list)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
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
        props: dict[str, Any] = {
            "Name": {"title": _text(title)},
            "Status": {"status": {"name": status}},
        }
        if manifest is not None:
            props["Manifest"] = {"rich_text": _text(manifest)}
        page = self._create(
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

    # --- what happened ----------------------------------------------------------------------

    def value(self, page_id: str, name: str) -> Any:
        """A property's plain value on a card (text, number, option name)."""
        prop = self.pages[page_id]["properties"].get(name) or {}
        data = prop.get(prop.get("type", ""), None)
        if isinstance(data, list):
            return "".join(part["plain_text"] for part in data)
        if isinstance(data, dict):
            return data.get("name")
        return data

    def cards(self) -> list[str]:
        return list(self.pages)

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
        match method, parts:
            case "GET", ["databases", database_id]:
                return self._database(database_id)
            case "GET", ["data_sources", source]:
                self._source(source)
                return {"object": "data_source", "id": source, "properties": self.schema}
            case "POST", ["data_sources", source, "query"]:
                self._source(source)
                return self._query(body or {})
            case "POST", ["pages"]:
                return self._create(body or {})
            case "GET", ["pages", page_id]:
                return self._page(page_id)
            case "PATCH", ["pages", page_id]:
                return self._update(page_id, body or {})
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

    def _database(self, database_id: str) -> dict[str, Any]:
        if database_id != self.database_id:
            raise NotionError(
                404,
                f"Could not find database with ID: {database_id}. Make sure "
                "the relevant pages and databases are shared with your integration.",
            )
        return {
            "object": "database",
            "id": database_id,
            "title": _rich("Videos"),
            "data_sources": [{"id": self.data_source_id, "name": "Videos"}],
        }

    def _source(self, source: str) -> None:
        if source != self.data_source_id:
            raise NotionError(404, f"Could not find data_source with ID: {source}.")

    def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        rows = [p for p in self.pages.values() if _matches(p, body.get("filter"))]
        size = int(body.get("page_size") or 100)
        return _paginate(rows, body.get("start_cursor"), size, self.max_page_size, "page")

    def _page(self, page_id: str) -> dict[str, Any]:
        if page_id not in self.pages:
            raise NotionError(404, f"Could not find page with ID: {page_id}.")
        return self.pages[page_id]

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        parent = body.get("parent") or {}
        self._source(str(parent.get("data_source_id")))
        page_id = str(uuid.uuid4())
        page = {
            "object": "page",
            "id": page_id,
            "created_time": _iso(),
            "last_edited_time": _iso(),
            "parent": {
                "type": "data_source_id",
                "data_source_id": self.data_source_id,
                "database_id": self.database_id,
            },
            "archived": False,
            "properties": {},
            "url": f"https://www.notion.so/{page_id}",
        }
        page["properties"] = self._values(body.get("properties") or {})
        with self._lock:
            self.pages[page_id] = page
        return page

    def _update(self, page_id: str, body: dict[str, Any]) -> dict[str, Any]:
        page = self._page(page_id)
        values = self._values(body.get("properties") or {})
        with self._lock:
            page["properties"].update(values)
            page["last_edited_time"] = _iso()
        return page

    def _values(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Validate written properties against the schema; stored the way Notion returns them."""
        stored = {}
        for name, value in properties.items():
            spec = self.schema.get(name)
            if spec is None:
                raise NotionError(400, f"{name} is not a property that exists.")
            kind = spec["type"]
            if kind not in value:
                raise NotionError(400, f"{name} is expected to be {kind}.")
            data = value[kind]
            if kind in ("title", "rich_text"):
                for i, part in enumerate(data):
                    length = len(part["text"]["content"])
                    if length > 2000:
                        raise NotionError(
                            400,
                            f"body.properties.{name}.{kind}[{i}].text.content."
                            f"length should be ≤ `2000`, instead was `{length}`.",
                        )
                data = _rich("".join(part["text"]["content"] for part in data))
            elif kind == "status":
                names = {o["name"] for o in spec["status"]["options"]}
                if data["name"] not in names:
                    raise NotionError(
                        400,
                        f'Invalid status option. Status option "{data["name"]}" does not exist".',
                    )
                data = {"id": "x", "name": data["name"], "color": "default"}
            stored[name] = {"id": spec["id"], "type": kind, kind: data}
        return stored


def _text(content: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": content}}]


def _rich(content: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "text",
            "text": {"content": content, "link": None},
            "plain_text": content,
            "annotations": {"bold": False, "code": False},
            "href": None,
        }
    ]


def _paragraph(content: str) -> dict[str, Any]:
    return {
        "object": "block",
        "id": str(uuid.uuid4()),
        "type": "paragraph",
        "paragraph": {"rich_text": _rich(content)},
    }


def _iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


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
