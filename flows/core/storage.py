"""What Reelflow's storage holds: the data directory's areas, what each prunable kind takes
(the execution log's outputs, spill, results, venvs, outputs), file walks that never follow
a symlink, and the cached item results Prefect wrote.

A result record (one file per cache key in ``<data dir>/results``) is Prefect's JSON with
the ItemResult pickled in base64. It is read here without Prefect, by an unpickler that
builds an ItemResult and plain data and nothing else, so no code in a file ever runs.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, cast, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.models import ScriptExecution
from flows.core.settings import Settings
from flows.core.steps import ItemResult

__all__ = [
    "data_dir_usage",
    "files",
    "human_bytes",
    "mtime",
    "octets",
    "read_item_result",
    "storage_usage",
    "tree_size",
]

AREAS = ("database", "results", "venvs", "spill", "locks", "other")
MAX_RECORD_BYTES = 1 << 20  # an item's result record is a few hundred bytes


def data_dir_usage(settings: Settings) -> dict[str, int]:
    """Bytes in the data directory by area (database, results, venvs, spill, locks, other)."""
    usage = dict.fromkeys(AREAS, 0)
    database = _sqlite_file(settings.database_url)
    for path, size in files(settings.data_dir):
        top = path.relative_to(settings.data_dir).parts[0]
        if path.name.endswith(".lock"):
            usage["locks"] += size
        elif database and path.parent == database.parent and path.name.startswith(database.name):
            usage["database"] += size
        else:
            usage[top if top in AREAS else "other"] += size
    if database and not database.is_relative_to(settings.data_dir):  # a SQLite file elsewhere
        for suffix in ("", "-wal", "-shm"):
            usage["database"] += tree_size(database.with_name(database.name + suffix))
    return {**usage, "total": sum(usage.values())}


async def storage_usage(*, session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Bytes each kind holds now (outputs: those under REELFLOW_OUTPUT_DIR)."""
    logged = func.sum(
        octets(session, ScriptExecution.stdout) + octets(session, ScriptExecution.stderr)
    )
    return {
        "executions": int(await session.scalar(select(func.coalesce(logged, 0))) or 0),
        "spill": tree_size(settings.spill_dir),
        "results": tree_size(settings.results_dir),
        "venvs": tree_size(settings.venvs_dir),
        "outputs": tree_size(settings.output_dir),
    }


def human_bytes(count: float) -> str:
    """``1536`` → ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def octets(session: AsyncSession, column: Any) -> Any:
    """The length in bytes of a text column, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.octet_length(column)
    return func.length(cast(column, LargeBinary))


def files(root: Path) -> Iterator[tuple[Path, int]]:
    """Every file under ``root`` (none if it is missing) with its size; symlinks not followed."""
    stack = [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                yield Path(entry.path), entry.stat(follow_symlinks=False).st_size


def tree_size(root: Path) -> int:
    """Bytes of a file, or of every file under a directory; 0 when it is missing."""
    if root.is_file():
        return root.lstat().st_size
    return sum(size for _, size in files(root))


def mtime(path: Path) -> datetime:
    """When ``path`` (not what it links to) last changed, as an aware datetime."""
    return datetime.fromtimestamp(path.lstat().st_mtime).astimezone()


def read_item_result(path: Path) -> ItemResult | None:
    """The ItemResult in a Prefect result record, or None for anything else."""
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            return None
        document = json.loads(path.read_bytes())
        blob = base64.decodebytes(document["result"].encode())
        result = _ItemResults(io.BytesIO(blob)).load()
    except Exception:  # a malformed file is simply not a record we can vouch for
        return None
    return result if isinstance(result, ItemResult) else None


class _ItemResults(pickle.Unpickler):
    """Builds an ItemResult and plain data (str, numbers, lists, dicts), nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (ItemResult.__module__, ItemResult.__name__):
            return ItemResult
        raise pickle.UnpicklingError(f"{module}.{name} is not an item result")


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).resolve()
