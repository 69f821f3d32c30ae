"""The database: engines, the one session helper, and migrations.

Every unit of work is short: ``async with session_scope() as session`` opens a
transaction, commits it on exit and closes the connection. Never hold one open while a
script runs: claim (one scope), close, run the script, reopen, record (another scope).

An async engine belongs to the event loop that created it, and Prefect runs submitted
async tasks on loops of their own, so there is one engine per (loop, URL). Each is disposed
when its loop shuts down (``asyncio.run`` closes async generators, which is our hook).

The schema comes from Alembic (``migrations/``): ``reelflow db upgrade`` applies it, and a
fresh SQLite file is upgraded on first use. A PostgreSQL database behind the code's schema
is an error that says to run the upgrade.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from flows.core.errors import StoreError
from flows.core.settings import PROJECT_ROOT, get_settings

__all__ = [
    "current_revision",
    "dispose_engines",
    "head_revision",
    "insert_ignoring_conflicts",
    "session_scope",
    "upgrade",
    "write_later",
]

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
_log = logging.getLogger("reelflow.store")
FLUSH_DELAY = 0.02  # seconds a deferred write waits for company


Write = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class _Bound:
    """An engine on one loop, and the writes queued on it by ``write_later``."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    closer: AsyncGenerator[None, None] | None = None
    pending: list[Write] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None
    inflight: asyncio.Future[None] | None = None
    timer: asyncio.TimerHandle | None = None
    schema_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def take(self) -> list[Write]:
        batch, self.pending = self.pending, []
        return batch

    def requeue(self, batch: list[Write]) -> None:
        self.pending[:0] = batch
        self.schedule()

    def schedule(self, delay: float = FLUSH_DELAY) -> None:
        """Flush soon: after ``delay``, so writes arriving meanwhile share the transaction."""
        if self.pending and self.flusher is None and self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(delay, self._start)

    def _start(self) -> None:
        self.timer = None
        if self.pending and self.flusher is None:
            self.flusher = asyncio.get_running_loop().create_task(self._flush())

    async def settle(self) -> None:
        """Wait until no queued write is committed half-way in another transaction."""
        while self.inflight is not None:
            await asyncio.shield(self.inflight)

    async def drain(self) -> None:
        await self.settle()
        while self.pending or self.flusher is not None:
            if self.flusher is None:
                if self.timer is not None:
                    self.timer.cancel()
                    self.timer = None
                self._start()
            assert self.flusher is not None
            await asyncio.shield(self.flusher)

    async def _flush(self) -> None:
        try:
            while batch := self.take():
                self.inflight = asyncio.get_running_loop().create_future()
                try:
                    await self._commit(batch)
                except (SQLAlchemyError, OSError) as exc:
                    if len(batch) == 1:
                        _log.warning("a deferred record could not be written: %s", _reason(exc))
                    else:  # one bad record must not take the others with it
                        _log.warning(
                            "%d deferred records could not be written together (%s): "
                            "writing them one by one",
                            len(batch),
                            _reason(exc),
                        )
                        await self._commit_each(batch)
                finally:
                    self.inflight.set_result(None)
                    self.inflight = None
        finally:
            self.flusher = None
            self.schedule()  # whatever arrived while the last batch was being written

    async def _commit(self, batch: list[Write]) -> None:
        async with self.sessions() as session, session.begin():
            for write in batch:
                await write(session)

    async def _commit_each(self, batch: list[Write]) -> None:
        """Each write in a short transaction of its own (not SAVEPOINTs: pysqlite's are
        unreliable); the ones that fail are logged and dropped, the rest are kept."""
        for number, write in enumerate(batch, 1):
            try:
                await self._commit([write])
            except (SQLAlchemyError, OSError) as exc:
                _log.warning(
                    "deferred record %d of %d could not be written: %s",
                    number,
                    len(batch),
                    _reason(exc),
                )


def _reason(exc: BaseException) -> str:
    """The kind of a failure, never its message: SQL errors quote the values, and those may
    hold secrets or a script's output."""
    orig = getattr(exc, "orig", None)
    kind = type(exc).__name__
    return f"{kind} ({type(orig).__name__})" if orig is not None else kind


_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Bound]] = (
    weakref.WeakKeyDictionary()
)
_ready: set[str] = set()


@asynccontextmanager
async def session_scope(url: str | None = None) -> AsyncIterator[AsyncSession]:
    """One short transaction: committed when the block ends, rolled back on error, closed.

    Writes queued by ``write_later`` on this loop ride along in the same transaction, so a
    session always sees what this loop has written.
    """
    bound = await _bind(url or get_settings().database_url)
    await bound.settle()
    batch = bound.take()
    try:
        async with bound.sessions() as session, session.begin():
            for write in batch:
                await write(session)
            yield session
    except BaseException as exc:
        bound.requeue(batch)
        if isinstance(exc, SQLAlchemyError):
            raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc
        raise


async def write_later(write: Write, url: str | None = None) -> None:
    """Queue a write to commit soon with others in one short transaction.

    For records nobody waits on, such as how a script run ended: the next transaction on
    this loop carries it, or a background flush does, and the loop's shutdown flushes it.
    """
    bound = await _bind(url or get_settings().database_url)
    bound.pending.append(write)
    bound.schedule()


def insert_ignoring_conflicts(session: AsyncSession, table: Any) -> Any:
    """INSERT … ON CONFLICT for the backend in use (SQLite or PostgreSQL): creating shared
    rows (channels, boards, videos) is an upsert, so first runs racing never fail."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


async def dispose_engines() -> None:
    """Close every connection this event loop holds (the CLI calls it before its loop ends)."""
    bound = _engines.pop(asyncio.get_running_loop(), {})
    for item in bound.values():
        await item.drain()
        await item.engine.dispose()


async def _bind(url: str) -> _Bound:
    loop = asyncio.get_running_loop()
    per_loop = _engines.setdefault(loop, {})
    bound = per_loop.get(url)
    if bound is None:
        engine = _create_engine(url)
        bound = _Bound(engine, async_sessionmaker(engine, expire_on_commit=False))
        bound.closer = _dispose_at_shutdown(bound)
        await bound.closer.__anext__()
        per_loop[url] = bound
    if url not in _ready:  # the first users on a fresh database wait for its migration
        async with bound.schema_lock:
            if url not in _ready:
                await _ensure_schema(bound.engine)
                _ready.add(url)
    return bound


async def _dispose_at_shutdown(bound: _Bound) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await bound.drain()
        await bound.engine.dispose()


def _create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# --- migrations -------------------------------------------------------------------------


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = _create_engine(url or get_settings().database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_read_revision)
    finally:
        await engine.dispose()


def _read_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Apply migrations up to ``revision``; returns the revision the database is now at."""
    url = url or get_settings().database_url
    engine = _create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_sync, revision)
            return await connection.run_sync(_read_revision) or ""
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {exc}") from exc
    finally:
        await engine.dispose()


def _upgrade_sync(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), revision)


async def _ensure_schema(engine: AsyncEngine) -> None:
    """Upgrade a SQLite file on first use; refuse a PostgreSQL database that is behind."""
    url = engine.url
    try:
        async with engine.connect() as connection:
            revision = await connection.run_sync(_read_revision)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot reach the database at {url!r}: {exc}") from exc
    head = head_revision()
    if revision == head:
        return
    if url.get_backend_name() != "sqlite":
        raise StoreError(
            f"database {url.render_as_string(hide_password=True)} is at revision "
            f"{revision or 'none'}, the code needs {head}: run `reelflow db upgrade`"
        )
    lock_path = Path(f"{url.database}.migrate.lock")
    with lock_path.open("w") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade_sync, "head")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def ping(url: str | None = None) -> None:
    """Raise StoreError unless the database answers."""
    async with session_scope(url) as session:
        await session.execute(text("SELECT 1"))
