"""Bounded storage: what may go once it is older than a cutoff, and the room that gives back.

``plan_prune`` lists what would go, ``apply_prune`` removes it; a dry run stops at the plan.

    executions  stdout and stderr of finished script runs (the row and its metadata stay)
    spill       spilled output of those runs, and spill files no kept run points to
    results     cached item results whose file is gone, or lies in a folder that goes
    venvs       virtualenvs built for requirements no registered script has any more
    outputs     the output folder of a channel's project whose every video was rejected or
                expired

Nothing a video that is not final needs is ever touched: its executions and their spill
files, its outputs, and the result records of its files (a record belongs to the video of
the ``<channel>/<project id>`` its output lies in, whatever the output root). ``apply_prune``
checks that again before it removes anything, removes files first and clears the execution
log last, so its one write transaction is short.
"""

from __future__ import annotations

import fcntl
import logging
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core import storage
from flows.core.errors import ConfigError
from flows.core.models import Channel, ScriptExecution, Video
from flows.core.registry import load_registry
from flows.core.settings import Settings
from flows.core.statuses import DONE as FINAL  # approved and after: settled
from flows.core.storage import data_dir_usage
from flows.core.venvs import requirements_digest

__all__ = [
    "KINDS",
    "PrunePlan",
    "PruneResult",
    "Target",
    "apply_prune",
    "data_dir_usage",
    "plan_prune",
    "totals",
]

KINDS = ("executions", "spill", "results", "venvs", "outputs")
DISCARDED = frozenset({"rejected", "review_expired"})  # final, and nobody wants the video
CHUNK = 500  # ids per statement
_SPILL_NAME = re.compile(r"^([0-9a-f-]{36})\.(?:stdout|stderr)\.log$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_log = logging.getLogger("reelflow.prune")
E = ScriptExecution
Key = tuple[str, str]  # (channel, project id): one output folder per output root
Groups = dict[Key, list[tuple[str, datetime, str | None]]]  # (status, updated_at, output_path)


@dataclass(frozen=True)
class Target:
    """One thing to remove: ``ref`` is a path or an execution id, ``owner`` its video key."""

    kind: str
    ref: str
    bytes: int
    owner: Key | None = None


@dataclass(frozen=True)
class PrunePlan:
    """What a prune would remove, and how many bytes each kind holds before it."""

    cutoff: datetime
    targets: tuple[Target, ...]
    before: dict[str, int]


@dataclass(frozen=True)
class PruneResult:
    """What ``apply_prune`` removed, and what it left because it became needed or vanished."""

    removed: tuple[Target, ...]
    skipped: tuple[Target, ...]


async def plan_prune(
    *, session: AsyncSession, settings: Settings, older_than: timedelta, now: datetime
) -> PrunePlan:
    """What would go: everything older than ``now - older_than`` that no video needs."""
    if older_than < timedelta(0):
        raise ConfigError(f"older_than must not be negative (got {older_than})")
    cutoff = now - older_than
    groups = await _video_groups(session)
    folders = dict(_discarded_folders(groups, settings, cutoff))
    targets = [
        *await _executions(session, cutoff),
        *await _spill(session, settings.spill_dir, cutoff),
        *_results(settings.results_dir, cutoff, _needed(groups)[0], set(folders)),
        *_venvs(settings, cutoff),
        *(Target("outputs", str(p), storage.tree_size(p), key) for p, key in folders.items()),
    ]
    before = await storage.storage_usage(session=session, settings=settings)
    return PrunePlan(cutoff=cutoff, targets=tuple(targets), before=before)


async def apply_prune(plan: PrunePlan, *, session: AsyncSession) -> PruneResult:
    """Remove what ``plan`` lists, except what a video came to need since it was made."""
    live, wanted = _needed(await _video_groups(session))
    spilled = {t.ref: _spill_id(Path(t.ref)) or "" for t in plan.targets if t.kind == "spill"}
    busy = await _busy_executions(session, set(spilled.values()))
    removed: list[Target] = []
    skipped: list[Target] = []
    for target in plan.targets:
        if target.kind != "executions":
            needed = (
                (target.kind == "results" and target.owner in live)
                or (target.kind == "outputs" and target.owner in wanted)
                or spilled.get(target.ref) in busy
            )
            (skipped if needed or not _remove(target) else removed).append(target)
    runs = [t for t in plan.targets if t.kind == "executions"]
    cleared = await _clear_executions(session, [t.ref for t in runs])
    for target in runs:
        (removed if target.ref in cleared else skipped).append(target)
    return PruneResult(removed=tuple(removed), skipped=tuple(skipped))


def totals(targets: Iterable[Target]) -> dict[str, tuple[int, int]]:
    """Per kind: how many targets, and their bytes."""
    found = dict.fromkeys(KINDS, (0, 0))
    for target in targets:
        count, size = found[target.kind]
        found[target.kind] = (count + 1, size + target.bytes)
    return found


# --- what goes ----------------------------------------------------------------------------


async def _video_groups(session: AsyncSession) -> Groups:
    query = select(Channel.name, Video.project_id, Video.status, Video.updated_at,
                   Video.output_path).join(Channel, Channel.id == Video.channel_id)  # fmt: skip
    groups: Groups = {}
    for channel, project, status, updated, output in await session.execute(query):
        groups.setdefault((channel, project), []).append((status, updated, output))
    return groups


def _needed(groups: Groups) -> tuple[set[Key], set[Key]]:
    """The keys with a video that is not final, and those with one that is not discarded."""
    live = {key for key, rows in groups.items() if any(r[0] not in FINAL for r in rows)}
    return live, {key for key, rows in groups.items() if any(r[0] not in DISCARDED for r in rows)}


def _discarded_folders(
    groups: Groups, settings: Settings, cutoff: datetime
) -> Iterator[tuple[Path, Key]]:
    """Folders of a (channel, project) whose every video was discarded before the cutoff."""
    for (channel, project), rows in groups.items():
        if not all(status in DISCARDED and updated < cutoff for status, updated, _ in rows):
            continue
        found = {Path(o).parents[1] for _, _, o in rows if o and len(Path(o).parents) > 2}
        for folder in found | {settings.output_dir / channel / project}:
            owned = folder.name == project and folder.parent.name == channel
            if owned and folder.is_dir() and not folder.is_symlink():
                yield folder, (channel, project)


async def _executions(session: AsyncSession, cutoff: datetime) -> list[Target]:
    size = storage.octets(session, E.stdout) + storage.octets(session, E.stderr)
    spilled = or_(E.stdout_spill.is_not(None), E.stderr_spill.is_not(None))
    query = (
        select(E.id, size)
        .outerjoin(Video, Video.id == E.video_id)
        .where(E.completed_at < cutoff, _settled(), or_(E.stdout != "", E.stderr != "", spilled))
    )
    return [Target("executions", id, int(n or 0)) for id, n in await session.execute(query)]


async def _spill(session: AsyncSession, spill_dir: Path, cutoff: datetime) -> list[Target]:
    old = [
        (path, size, _spill_id(path) or "")
        for path, size in storage.files(spill_dir)
        if _spill_id(path) and storage.mtime(path) < cutoff
    ]
    busy = await _busy_executions(session, {run for _, _, run in old})
    return [Target("spill", str(path), size) for path, size, run in old if run not in busy]


def _results(
    results_dir: Path, cutoff: datetime, live: set[Key], going: set[Path]
) -> Iterator[Target]:
    for path, size in storage.files(results_dir):
        result = storage.read_item_result(path)
        if result is None:  # not an item's record, or not one we can read: kept
            continue
        output = Path(result.output)
        owner = _owner(output)
        gone = storage.mtime(path) < cutoff and not output.exists()
        if owner not in live and (gone or going.intersection(output.parents)):
            yield Target("results", str(path), size, owner)


def _venvs(settings: Settings, cutoff: datetime) -> Iterator[Target]:
    scripts = load_registry(settings.scripts_dir).scripts.values()
    used = {requirements_digest(s.requirements) for s in scripts if s.requirements is not None}
    venvs = sorted(settings.venvs_dir.iterdir()) if settings.venvs_dir.is_dir() else []
    for venv in venvs:
        if not _DIGEST.match(venv.name) or venv.name in used or venv.is_symlink():
            continue
        if venv.is_dir() and max(map(storage.mtime, [venv, *venv.glob(".reelflow-*")])) < cutoff:
            yield Target("venvs", str(venv), storage.tree_size(venv))


# --- removing -------------------------------------------------------------------------------


def _remove(target: Target) -> bool:
    path = Path(target.ref)
    try:
        if target.kind == "venvs":
            return _remove_venv(path)
        if target.kind == "outputs":
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        _log.warning("could not remove %s: %s", path, exc)
        return False
    return True


def _remove_venv(venv: Path) -> bool:
    """Remove a virtualenv unless a build holds its lock, then its lock file."""
    lock_path = venv.with_name(f"{venv.name}.lock")
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(venv)
        lock_path.unlink()
    return True


async def _clear_executions(session: AsyncSession, ids: list[str]) -> set[str]:
    """Blank these runs' outputs, re-checking in the statement that they are settled."""
    cleared: set[str] = set()
    final = select(Video.id).where(Video.status.in_(FINAL))
    for start in range(0, len(ids), CHUNK):
        statement = (
            update(E)
            .where(E.id.in_(ids[start : start + CHUNK]), E.completed_at.is_not(None))
            .where(or_(E.video_id.is_(None), E.video_id.in_(final)))
            .values(stdout="", stderr="", stdout_spill=None, stderr_spill=None)
            .returning(E.id)
        )
        cleared.update((await session.scalars(statement)).all())
    return cleared


async def _busy_executions(session: AsyncSession, ids: set[str]) -> set[str]:
    """Of these runs, those still running or of a video that is not final."""
    found: set[str] = set()
    wanted = sorted(ids)
    for start in range(0, len(wanted), CHUNK):
        query = (
            select(E.id)
            .outerjoin(Video, Video.id == E.video_id)
            .where(E.id.in_(wanted[start : start + CHUNK]))
            .where(or_(E.completed_at.is_(None), ~_settled()))
        )
        found.update((await session.scalars(query)).all())
    return found


def _settled() -> ColumnElement[bool]:
    """A run of no video, or of a final one (the query outer-joins its video)."""
    return or_(E.video_id.is_(None), and_(Video.id.is_not(None), Video.status.in_(FINAL)))


def _owner(output: Path) -> Key | None:
    """``<root>/<channel>/<project>/<step>/<file>``: the video key of an item's file."""
    parents = output.parents
    return (parents[2].name, parents[1].name) if len(parents) > 3 else None


def _spill_id(path: Path) -> str | None:
    found = _SPILL_NAME.match(path.name)
    return found.group(1) if found else None
