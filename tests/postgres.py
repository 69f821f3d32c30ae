"""PostgreSQL for tests and benchmarks: the admin URL, admin statements, and a way to run a
coroutine from code that may already have an event loop running."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

T = TypeVar("T")

POSTGRES_ADMIN_URL = os.environ.get(
    "REELFLOW_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own, in a thread (callers may have one running)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def dsn(url: str) -> str:
    """A SQLAlchemy asyncpg URL as a plain libpq DSN for asyncpg.connect."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def url_of(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def admin(*statements: str) -> None:
    """Run statements (CREATE / DROP DATABASE …) as the admin user."""
    connection = await asyncpg.connect(dsn(POSTGRES_ADMIN_URL), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn(url), timeout=5)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def recreate(name: str) -> list[str]:
    return [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"']


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
