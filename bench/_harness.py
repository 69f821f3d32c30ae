"""What the benchmarks share: a Prefect server, timing, peak memory and a ratio table."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.postgres


def isolate(prefix: str) -> Path:
    """A private Prefect home, data directory and result storage for this benchmark run."""
    root = Path(tempfile.mkdtemp(prefix=f"reelflow-bench-{prefix}-"))
    os.environ["PREFECT_HOME"] = str(root / "prefect-home")
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(root / "prefect-storage")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["REELFLOW_DATA_DIR"] = str(root / "data")
    os.environ["REELFLOW_OUTPUT_DIR"] = str(root / "output")
    return root


@contextlib.contextmanager
def prefect_server(root: Path) -> Iterator[str]:
    """A Prefect API server on PostgreSQL when reachable (SQLite otherwise)."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_DATABASE_CONNECTION_URL,
        temporary_settings,
    )

    database, drop = _database(root)
    with temporary_settings({PREFECT_SERVER_DATABASE_CONNECTION_URL: database}):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = SubprocessASGIServer(port=port)
        server.start(timeout=120)
        try:
            with temporary_settings({PREFECT_API_URL: server.api_url}):
                os.environ["PREFECT_API_URL"] = server.api_url
                yield server.api_url
        finally:
            server.stop()
            if drop:
                drop()


def _database(root: Path) -> tuple[str, Callable[[], None] | None]:
    import asyncpg

    from tests.postgres import admin, recreate, url_of

    name = f"reelflow_bench_{os.getpid()}"
    try:
        asyncio.run(admin(*recreate(name)))
    except (OSError, asyncpg.PostgresError):
        return f"sqlite+aiosqlite:///{root / 'prefect.db'}", None
    return url_of(name), lambda: asyncio.run(
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )


async def timed(call: Callable[[], Awaitable[Any]], repeat: int, warmup: int = 5) -> list[float]:
    """Milliseconds per call, after a warm-up."""
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def median_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def reset_peak_rss() -> int:
    """Reset the kernel's peak-RSS mark for this process; returns the current RSS in bytes."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return rss("VmRSS")


def rss(field: str = "VmHWM") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    body = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([title, line, "-" * len(line), *body])
