"""The execution log: one row per script run. Data functions take ``*, session``.

A run's input is stored as it was given (masked), unless its JSON passes the run's output
cap: then the record holds the first part of that JSON as text with a marker of how much was
cut (``capped_input``), as stdout and stderr are capped; the script still gets all of it.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.errors import NotFoundError
from flows.core.models import ScriptExecution, utcnow
from flows.core.store import write_later

__all__ = [
    "ExecutionLog",
    "capped_input",
    "count_executions",
    "create_execution",
    "execution_log",
    "get_execution",
    "list_executions",
]

TABLE = cast(Table, ScriptExecution.__table__)


def capped_input(value: Any, limit: int) -> Any:
    """``value`` if its JSON fits in ``limit`` bytes, else its first ``limit`` bytes as text
    followed by ``[reelflow: input truncated, N bytes cut; kept the first LIMIT of TOTAL]``."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    data = text.encode()
    if len(data) <= limit:
        return value
    head = data[:limit].decode("utf-8", errors="ignore")
    cut = len(data) - len(head.encode())
    return (
        f"{head}\n[reelflow: input truncated, {cut} bytes cut; "
        f"kept the first {len(data) - cut} of {len(data)} bytes of its JSON]"
    )


async def create_execution(
    *,
    session: AsyncSession,
    id: str,
    script: str,
    input: Any,
    args: Sequence[str],
    video_id: int | None = None,
    label: str | None = None,
    flow_run_id: str | None = None,
    task_run_id: str | None = None,
    requested_by: str | None = None,
) -> None:
    """Record a run as started (status ``running``), now, in this session."""
    row = _started_row(
        id, script, input, args, video_id, label, flow_run_id, task_run_id, requested_by
    )
    await session.execute(insert(TABLE), [row])


def _started_row(
    id: str,
    script: str,
    input: Any,
    args: Sequence[str],
    video_id: int | None,
    label: str | None,
    flow_run_id: str | None,
    task_run_id: str | None,
    requested_by: str | None,
) -> dict[str, Any]:
    return {
        "id": id, "script": script, "status": "running", "input": input, "args": list(args),
        "output": None, "stdout": "", "stderr": "", "stdout_spill": None, "stderr_spill": None,
        "exit_code": None, "duration_ms": None, "error": None, "started_at": utcnow(),
        "completed_at": None, "video_id": video_id, "label": label,
        "flow_run_id": flow_run_id, "task_run_id": task_run_id, "requested_by": requested_by,
    }  # fmt: skip


class ExecutionLog:
    """The execution log written behind, for one event loop and one database.

    ``started`` and ``finished`` queue rows; one deferred write (``store.write_later``)
    commits everything queued as one multi-row INSERT and one bulk UPDATE. A run that ends
    before its start row was written becomes a single INSERT with its final values. Any
    ``session_scope`` on the same loop carries the queue with it, so reads see the rows.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.inserts: dict[str, dict[str, Any]] = {}
        self.updates: dict[str, dict[str, Any]] = {}
        self.queued = False

    async def started(
        self,
        *,
        id: str,
        script: str,
        input: Any,
        args: Sequence[str],
        video_id: int | None = None,
        label: str | None = None,
        flow_run_id: str | None = None,
        task_run_id: str | None = None,
        requested_by: str | None = None,
    ) -> None:
        row = _started_row(
            id, script, input, args, video_id, label, flow_run_id, task_run_id, requested_by
        )
        self.inserts[id] = row
        await self._queue()

    async def finished(self, *, id: str, **values: Any) -> None:
        """Record how a run ended (status, exit code, output, stdout, stderr, …)."""
        values["completed_at"] = utcnow()
        if id in self.inserts:
            self.inserts[id].update(values)
        else:
            self.updates[id] = {"id": id, **values}
        await self._queue()

    async def _queue(self) -> None:
        if self.queued:
            return
        self.queued = True
        batch: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None

        async def write(session: AsyncSession) -> None:
            nonlocal batch
            if batch is None:  # drain once; a retried transaction writes the same rows
                self.queued = False
                batch = (list(self.inserts.values()), list(self.updates.values()))
                self.inserts, self.updates = {}, {}
            inserts, updates = batch
            if inserts:  # Core executemany: one multi-row INSERT, no ORM bookkeeping
                await session.execute(insert(TABLE), inserts)
            for row in updates:  # rows differ in which fields they set
                values = {k: v for k, v in row.items() if k != "id"}
                await session.execute(update(TABLE).where(TABLE.c.id == row["id"]).values(values))

        await write_later(write, self.url)


_logs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ExecutionLog]] = (
    weakref.WeakKeyDictionary()
)


def execution_log(url: str) -> ExecutionLog:
    """This loop's execution log for the database at ``url``."""
    per_loop = _logs.setdefault(asyncio.get_running_loop(), {})
    if url not in per_loop:
        per_loop[url] = ExecutionLog(url)
    return per_loop[url]


async def get_execution(*, session: AsyncSession, id: str) -> ScriptExecution:
    """One run by id, or by a unique prefix of its id."""
    found = await session.get(ScriptExecution, id)
    if found is not None:
        return found
    rows = (
        await session.scalars(
            select(ScriptExecution)
            .where(ScriptExecution.id.startswith(id, autoescape=True))
            .limit(2)
        )
    ).all()
    if len(rows) != 1:
        raise NotFoundError(f"no script execution {id!r}" if not rows else f"{id!r} is ambiguous")
    return rows[0]


async def list_executions(
    *,
    session: AsyncSession,
    script: str | None = None,
    video_id: int | None = None,
    flow_run_id: str | None = None,
    status: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[ScriptExecution]:
    """Newest first."""
    query = select(ScriptExecution).order_by(ScriptExecution.started_at.desc(), ScriptExecution.id)
    if script is not None:
        query = query.where(ScriptExecution.script == script)
    if video_id is not None:
        query = query.where(ScriptExecution.video_id == video_id)
    if flow_run_id is not None:
        query = query.where(ScriptExecution.flow_run_id == flow_run_id)
    if status is not None:
        query = query.where(ScriptExecution.status == status)
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def count_executions(
    *,
    session: AsyncSession,
    video_id: int | None = None,
    script: str | None = None,
    label: str | None = None,
    status: str | None = None,
) -> int:
    query = select(func.count()).select_from(ScriptExecution)
    if video_id is not None:
        query = query.where(ScriptExecution.video_id == video_id)
    if script is not None:
        query = query.where(ScriptExecution.script == script)
    if label is not None:
        query = query.where(ScriptExecution.label == label)
    if status is not None:
        query = query.where(ScriptExecution.status == status)
    return int((await session.scalar(query)) or 0)
