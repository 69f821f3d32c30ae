"""The store, the same suite on SQLite and on PostgreSQL over asyncpg."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import select, text

from flows.core import executions, store
from flows.core.errors import NotFoundError, StoreError
from flows.core.models import Channel, ScriptExecution
from tests.postgres import admin, recreate, url_of


async def _record(id: str, script: str = "job", **fields: object) -> None:
    async with store.session_scope() as session:
        await executions.create_execution(
            session=session, id=id, script=script, input={"n": 1}, args=["a"], **fields
        )


async def test_database_is_at_the_head_revision(database_url: str) -> None:
    await store.ping()
    assert await store.current_revision(database_url) == store.head_revision()


async def test_execution_round_trip_keeps_json_and_utc_times(database_url: str) -> None:
    await _record("e1", label="assets/scene-1")
    await executions.execution_log(database_url).finished(
        id="e1",
        status="completed",
        exit_code=0,
        output={"output": "/x.png", "cost_usd": 0.0, "nested": [1, {"a": "é"}]},
        stdout="out",
        stderr="err",
        duration_ms=12.5,
        error=None,
    )
    async with store.session_scope() as session:
        row = await executions.get_execution(session=session, id="e1")
    assert row.output["nested"] == [1, {"a": "é"}]
    assert (row.status, row.exit_code, row.duration_ms, row.label) == (
        "completed",
        0,
        12.5,
        "assets/scene-1",
    )
    assert row.started_at.tzinfo is not None and row.completed_at >= row.started_at


async def test_execution_log_coalesces_and_batches_its_writes(database_url: str) -> None:
    log = executions.execution_log(database_url)
    for i in range(10):
        await log.started(id=f"c{i}", script="quick", input=None, args=[])
        await log.finished(id=f"c{i}", status="completed", exit_code=0, duration_ms=1.0)
    await log.started(id="slow", script="slow", input=None, args=[])
    await asyncio.sleep(0.2)  # the start row is written while the run goes on
    async with store.session_scope() as session:
        running = await executions.get_execution(session=session, id="slow")
        assert running.status == "running"
    await log.finished(id="slow", status="failed", exit_code=3, error="boom")
    async with store.session_scope() as session:
        rows = await executions.list_executions(session=session, limit=50)
    statuses = {row.id: (row.status, row.exit_code) for row in rows}
    assert statuses["slow"] == ("failed", 3)
    assert all(statuses[f"c{i}"] == ("completed", 0) for i in range(10))


async def test_queued_rows_survive_a_rolled_back_transaction(database_url: str) -> None:
    log = executions.execution_log(database_url)
    await log.started(id="kept", script="x", input=None, args=[])
    with pytest.raises(RuntimeError):
        async with store.session_scope():
            raise RuntimeError("the caller's own work failed")
    async with store.session_scope() as session:
        assert (await executions.get_execution(session=session, id="kept")).status == "running"


async def test_history_pages_newest_first_and_filters_by_script(database_url: str) -> None:
    for i in range(5):
        await _record(f"a{i}", script="alpha")
        await asyncio.sleep(0.002)
    await _record("b0", script="beta")
    async with store.session_scope() as session:
        first = await executions.list_executions(session=session, script="alpha", limit=2)
        second = await executions.list_executions(
            session=session, script="alpha", limit=2, offset=2
        )
        everything = await executions.count_executions(session=session)
    assert [r.id for r in first] == ["a4", "a3"]
    assert [r.id for r in second] == ["a2", "a1"]
    assert everything == 6


async def test_execution_is_found_by_a_unique_id_prefix(database_url: str) -> None:
    await _record("abc123")
    await _record("abd456")
    async with store.session_scope() as session:
        assert (await executions.get_execution(session=session, id="abc")).id == "abc123"
        with pytest.raises(NotFoundError, match="ambiguous"):
            await executions.get_execution(session=session, id="ab")
        with pytest.raises(NotFoundError, match="no script execution"):
            await executions.get_execution(session=session, id="zzz")


async def test_an_error_inside_the_scope_rolls_everything_back(database_url: str) -> None:
    with pytest.raises(RuntimeError):
        async with store.session_scope() as session:
            session.add(Channel(name="rolled-back"))
            await session.flush()
            raise RuntimeError("boom")
    async with store.session_scope() as session:
        assert (await session.scalars(select(Channel))).all() == []


async def test_integrity_errors_become_store_errors(database_url: str) -> None:
    async with store.session_scope() as session:
        session.add(Channel(name="twice"))
    with pytest.raises(StoreError, match="IntegrityError"):
        async with store.session_scope() as session:
            session.add(Channel(name="twice"))


async def test_writes_queued_for_later_are_seen_by_the_next_session(database_url: str) -> None:
    for i in range(20):
        await store.write_later(
            lambda session, i=i: executions.create_execution(
                session=session, id=f"q{i}", script="queued", input=None, args=[]
            )
        )
    async with store.session_scope() as session:
        assert await executions.count_executions(session=session, script="queued") == 20


async def test_writes_queued_for_later_are_flushed_without_another_session(
    database_url: str,
) -> None:
    await store.write_later(
        lambda session: executions.create_execution(
            session=session, id="bg", script="queued", input=None, args=[]
        )
    )
    await asyncio.sleep(0.3)
    engine = store._create_engine(database_url)  # a separate connection sees the commit
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                select(ScriptExecution.id).where(ScriptExecution.id == "bg")
            )
    finally:
        await engine.dispose()
    assert found == "bg"


async def test_the_store_is_usable_from_another_event_loop(database_url: str) -> None:
    def in_a_thread() -> int:
        async def count() -> int:
            async with store.session_scope() as session:
                return await executions.count_executions(session=session)

        return asyncio.run(count())

    await _record("x1")
    assert await asyncio.to_thread(in_a_thread) == 1


async def test_a_fresh_sqlite_file_is_migrated_on_first_use(tmp_path: Path, configure) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'fresh.db'}"
    configure(database_url=url)
    async with store.session_scope() as session:
        assert await executions.count_executions(session=session) == 0
    assert await store.current_revision(url) == store.head_revision()


async def test_a_postgres_database_behind_the_code_says_to_upgrade(postgres_url: str) -> None:
    name = "reelflow_test_empty"
    await admin(*recreate(name))
    empty = url_of(name)
    try:
        with pytest.raises(StoreError, match="revision none.*run `reelflow db upgrade`"):
            async with store.session_scope(empty) as session:
                await session.execute(text("SELECT 1"))
        await store.upgrade(empty)
        async with store.session_scope(empty) as session:
            assert await session.scalar(text("SELECT count(*) FROM videos")) == 0
    finally:
        await store.dispose_engines()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_nul_is_replaced_in_every_text_and_json_value(database_url: str) -> None:
    """Issue 11: PostgreSQL text and JSONB cannot hold NUL (U+0000); it becomes U+FFFD."""
    async with store.session_scope() as session:
        await executions.create_execution(
            session=session,
            id="nul",
            script="job",
            input={"prompt": "a\x00b", "k\x00": ["\x00", {"deep": "x\x00"}], "n": 1},
            args=["--x\x00"],
            label="scene\x001",
        )
    await executions.execution_log(database_url).finished(
        id="nul",
        status="completed",
        exit_code=0,
        output={"text": "o\x00ut", "list": ["\x00\x00", 2, None]},
        stdout="out\x00put",
        stderr="err\x00or",
        error="bo\x00om",
    )
    async with store.session_scope() as session:
        row = await executions.get_execution(session=session, id="nul")
        session.add(Channel(name="chan\x00nel"))  # the ORM path too
    assert row.input == {"prompt": "a\ufffdb", "k\ufffd": ["\ufffd", {"deep": "x\ufffd"}], "n": 1}
    assert row.args == ["--x\ufffd"]
    assert row.label == "scene\ufffd1"
    assert row.output == {"text": "o\ufffdut", "list": ["\ufffd\ufffd", 2, None]}
    assert (row.stdout, row.stderr, row.error) == ("out\ufffdput", "err\ufffdor", "bo\ufffdom")
    assert row.status == "completed"
    async with store.session_scope() as session:
        assert (await session.scalars(select(Channel.name))).all() == ["chan\ufffdnel"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_one_failing_deferred_write_keeps_the_others(database_url: str) -> None:
    await _record("sekrit-dup")

    def create(id: str) -> store.Write:
        return lambda session: executions.create_execution(
            session=session, id=id, script="batch", input=None, args=[]
        )

    for id in ("before", "sekrit-dup", "after"):  # one batch: the middle one is a duplicate
        await store.write_later(create(id))
    bound = await store._bind(database_url)
    assert len(bound.pending) == 3
    records, logger = _Records(), logging.getLogger("reelflow.store")
    logger.addHandler(records)
    try:
        await bound.drain()
    finally:
        logger.removeHandler(records)
    async with store.session_scope() as session:
        rows = await executions.list_executions(session=session, script="batch")
        assert sorted(row.id for row in rows) == ["after", "before"]
        assert (await executions.get_execution(session=session, id="sekrit-dup")).script == "job"
    logged = "\n".join(records.lines)
    assert "3 deferred records could not be written together (IntegrityError" in logged
    assert "deferred record 2 of 3 could not be written: IntegrityError" in logged
    assert "record 1 of 3" not in logged and "record 3 of 3" not in logged
    assert "sekrit" not in logged  # the failing record's content is never logged
