"""What the fake providers share: a real HTTP server on a free loopback port, a record of
every request, injected faults, and small real media made with ffmpeg.

A fault answers the next ``times`` matching requests (after authentication, like the real
services) with ``status`` and the provider's own error body, optionally with Retry-After; a
``delay`` fault answers normally but only after sleeping (to provoke read timeouts).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import imageio_ffmpeg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_MEDIA = Path(tempfile.mkdtemp(prefix="reelflow-fake-media-"))
_made: dict[str, bytes] = {}
_media_lock = threading.Lock()


def media(kind: str, seconds: float, size: tuple[int, int] = (160, 90), fps: int = 24) -> bytes:
    """Real MP3 (a tone) or MP4 (H.264 test pattern) of ``seconds``, made once and kept."""
    name = f"{kind}-{seconds:.2f}-{size[0]}x{size[1]}-{fps}.{kind}"
    with _media_lock:
        if name not in _made:
            if kind == "mp3":
                source = ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds:.3f}"]
                codec = ["-c:a", "libmp3lame", "-b:a", "64k", "-ar", "44100"]
            else:
                source = ["-f", "lavfi", "-i", f"testsrc=size={size[0]}x{size[1]}:rate={fps}"]
                codec = ["-t", f"{seconds:.3f}", "-c:v", "libx264", "-preset", "ultrafast",
                         "-pix_fmt", "yuv420p"]  # fmt: skip
            path = _MEDIA / name
            subprocess.run(
                [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                 *source, *codec, str(path)],
                check=True,
            )  # fmt: skip
            _made[name] = path.read_bytes()
        return _made[name]


@dataclass
class Seen:
    """One request as it arrived and how it was answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None = None
    path: str = ""
    method: str | None = None
    delay: float = 0.0
    body: Any = None
    until: float | None = None  # an outage: every matching request until this monotonic time


Handler = Callable[[Request, Seen], Any]


@dataclass
class FakeService:
    """A fake API. Subclasses give ``routes()``, ``authorised()`` and ``error()``."""

    name: str = "fake"
    requests: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- control ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        routes = [
            Route(path, self._wrap(handler), methods=[method])
            for method, path, handler in self.routes()
        ]
        config = uvicorn.Config(
            Starlette(routes=routes), host="127.0.0.1", port=self.port, log_level="error",
            lifespan="off",
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, f"the fake {self.name} did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every request received has been answered (a delayed one may linger)."""
        deadline = time.monotonic() + timeout
        while any(s.status == 0 for s in self.seen()) and time.monotonic() < deadline:
            time.sleep(0.05)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()

    def fail(
        self, status: int, times: int = 1, *, retry_after: str | None = None, path: str = "",
        method: str | None = None, delay: float = 0.0, body: Any = None,
    ) -> None:  # fmt: skip
        """Answer the next ``times`` authorised requests to ``path…`` with ``status``."""
        with self._lock:
            self.faults.append(Fault(status, times, retry_after, path, method, delay, body))

    def down_for(self, seconds: float, status: int = 503, *, path: str = "") -> None:
        """An outage: every authorised request to ``path…`` for ``seconds`` gets ``status``
        and the provider's error body (as a service does while it is down or overloaded)."""
        with self._lock:
            self.faults.append(Fault(status, 0, path=path, until=time.monotonic() + seconds))

    def seen(
        self, method: str | None = None, path: str = "", status: int | None = None
    ) -> list[Seen]:
        with self._lock:
            return [
                s for s in self.requests
                if (method is None or s.method == method) and s.path.startswith(path)
                and (status is None or s.status == status)
            ]  # fmt: skip

    # --- for subclasses -----------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        raise NotImplementedError

    def authorised(self, request: Request) -> Response | None:
        """None when the credentials are right, else the provider's refusal."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> dict[str, Any]:
        """The provider's error body."""
        raise NotImplementedError

    # --- the service --------------------------------------------------------------------------

    def _wrap(self, handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            seen = Seen(request.method, request.url.path, dict(request.query_params),
                        {k.lower(): v for k, v in request.headers.items()}, body)  # fmt: skip
            with self._lock:
                self.requests.append(seen)
            response = await self._answer(request, seen, handler)
            seen.status = response.status_code
            return response

        return endpoint

    async def _answer(self, request: Request, seen: Seen, handler: Handler) -> Response:
        refused = self.authorised(request)
        if refused is not None:
            return refused
        fault = self._next_fault(seen)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        elif fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            body = fault.body if fault.body is not None else self.error(fault.status, "Injected.")
            return JSONResponse(body, status_code=fault.status, headers=headers)
        answer = handler(request, seen)
        if asyncio.iscoroutine(answer):
            answer = await answer
        return answer if isinstance(answer, Response) else JSONResponse(answer)

    def _next_fault(self, seen: Seen) -> Fault | None:
        with self._lock:
            for fault in list(self.faults):
                if fault.until is not None:
                    if time.monotonic() >= fault.until:
                        self.faults.remove(fault)
                    elif seen.path.startswith(fault.path):
                        return fault
                    continue
                if seen.path.startswith(fault.path) and fault.method in (None, seen.method):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
            return None
