"""Pruning a data directory of 50 videos: what goes, what stays, and the bytes it gives back."""

from __future__ import annotations

import fcntl
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
from prefect.serializers import PickleSerializer
from sqlalchemy import update

from flows.core import storage, videos
from flows.core.errors import ConfigError
from flows.core.manifest import parse_manifest
from flows.core.models import ScriptExecution, Video, utcnow
from flows.core.prune import KINDS, apply_prune, data_dir_usage, plan_prune, totals
from flows.core.settings import Settings, get_settings
from flows.core.steps import ItemResult
from flows.core.store import session_scope
from flows.core.venvs import requirements_digest
from tests.conftest import TEST_SCRIPTS
from tests.factories import TINY

NOW = utcnow()
OLD = NOW - timedelta(days=40)
CUTOFF = timedelta(days=30)
FILES = {"assets/a.png": 3_000, "video/c.mp4": 20_000, "assembly/final.mp4": 50_000}
STDOUT = "é" * 1_000 + "x" * 2_000  # 4,000 bytes, 3,000 characters
STDERR = "e" * 1_000
TO_REVIEW = [
    "generating_assets", "generating_composites", "generating_video", "generating_audio",
    "generating_sfx", "assembling", "awaiting_review",
]  # fmt: skip
PATHS = {
    "approved": [*TO_REVIEW, "approved"],
    "rejected": [*TO_REVIEW, "rejected"],
    "review_expired": [*TO_REVIEW, "review_expired"],
    "awaiting_review": TO_REVIEW,
    "generating_video": ["generating_video"],
    "video_error": ["generating_video", "video_error"],
    "crashed": ["generating_assets", "crashed"],
}
# (status, project, age): 50 videos. Two rejected videos share their project with a video
# awaiting review, one with an approved video: those folders are still needed.
VIDEOS = [
    *[("approved", f"approved-{i}", OLD) for i in range(14)],
    ("approved", "shared-approved", OLD),
    *[("rejected", f"rejected-{i}", OLD) for i in range(9)],
    ("rejected", "shared-0", OLD), ("rejected", "shared-1", OLD),
    ("rejected", "shared-approved", OLD),
    *[("review_expired", f"expired-{i}", OLD) for i in range(5)],
    *[("rejected", f"recent-{i}", NOW - timedelta(days=1)) for i in range(3)],
    ("awaiting_review", "shared-0", OLD), ("awaiting_review", "shared-1", OLD),
    *[("awaiting_review", f"awaiting-{i}", OLD) for i in range(4)],
    *[("generating_video", f"live-{i}", OLD) for i in range(4)],
    *[("video_error", f"error-{i}", OLD) for i in range(3)],
    *[("crashed", f"crashed-{i}", OLD) for i in range(2)],
]  # fmt: skip
GONE = {"rejected", "review_expired"}


@dataclass
class DataDir:
    """A data directory built by hand, and what a prune of it must remove."""

    settings: Settings
    expected: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in KINDS})
    kept: list[Path] = field(default_factory=list)  # what must still be there afterwards
    needed_runs: list[str] = field(default_factory=list)
    video_ids: dict[str, int] = field(default_factory=dict)

    def folder(self, project: str) -> Path:
        return self.settings.output_dir / "main" / project

    def record(self, output: Path, *, age: datetime = OLD) -> Path:
        result = ItemResult(
            label="x", output=str(output), sha256="0" * 64, duration=None, cost_usd=0.0,
            provider="local", model=None, execution_id=None,
        )  # fmt: skip
        record: ResultRecord[ItemResult] = ResultRecord(
            metadata=ResultRecordMetadata(storage_key="k", serializer=PickleSerializer()),
            result=result,
        )
        digest = hashlib.sha256(str(output).encode()).hexdigest()
        path = self.settings.results_dir / f"reelflow-assets-{digest}"
        return _write(path, record.serialize(), age)


def _write(path: Path, data: bytes, age: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (age.timestamp(), age.timestamp()))
    return path


async def _add_video(data: DataDir, status: str, project: str, age: datetime) -> None:
    plan = yaml.safe_load(TINY.read_text()) | {"project_id": project}
    folder = data.folder(project)
    async with session_scope() as session:
        video = await videos.create_video(
            session=session, channel="main", manifest=parse_manifest(plan)
        )
        for step in PATHS[status]:
            await videos.set_status(session=session, video_id=video.id, status=step)
        output = str(folder / "assembly" / "final.mp4") if status in PATHS["rejected"] else None
        values = {"updated_at": age, "output_path": output}
        await session.execute(update(Video).where(Video.id == video.id).values(**values))
        run_id = str(uuid.uuid4())
        session.add(_run(run_id, video.id, completed=True, age=age))
        if status in ("generating_video", "awaiting_review"):
            session.add(_run(str(uuid.uuid4()), video.id, completed=False))
    data.video_ids[f"{status}/{project}"] = video.id
    if status not in FINAL_STATUSES:
        data.needed_runs.append(run_id)
    elif age < NOW - CUTOFF:
        data.expected["executions"].append(run_id)
    if status in ("rejected", "awaiting_review") and project.endswith("-0"):
        spill = _write(data.settings.spill_dir / f"{run_id}.stdout.log", b"s" * 100_000, OLD)
        (data.kept if status == "awaiting_review" else data.expected["spill"]).append(spill)
        async with session_scope() as session:
            await session.execute(
                update(ScriptExecution)
                .where(ScriptExecution.id == run_id)
                .values(stdout_spill=str(spill))
            )


FINAL_STATUSES = {"approved", "rejected", "review_expired"}


def _run(run_id: str, video_id: int | None, *, completed: bool, age: datetime = OLD) -> Any:
    return ScriptExecution(
        id=run_id, script="generate_asset", status="completed" if completed else "running",
        input={}, args=[], stdout=STDOUT, stderr=STDERR, started_at=age,
        completed_at=age if completed else None, video_id=video_id,
    )  # fmt: skip


async def _build(settings: Settings) -> DataDir:
    """50 videos with files, records and runs; trial runs, spill, venvs and junk besides."""
    data = DataDir(settings)
    for status, project, age in VIDEOS:
        await _add_video(data, status, project, age)
    statuses: dict[str, set[str]] = {}
    ages: dict[str, datetime] = {}
    for status, project, age in VIDEOS:
        statuses.setdefault(project, set()).add(status)
        ages[project] = max(ages.get(project, age), age)
    for project, found in statuses.items():
        goes = found <= GONE and ages[project] < NOW - CUTOFF
        live = not found <= FINAL_STATUSES
        for name, size in FILES.items():
            path = _write(data.folder(project) / name, b"v" * size, OLD)
            record = data.record(path)
            if goes:
                data.expected["results"].append(str(record))
            else:
                data.kept += [path, record]
        if goes:
            data.expected["outputs"].append(str(data.folder(project)))
        missing = data.folder(project) / "assets" / "missing.png"
        if project.startswith(("approved-", "live-")):  # records whose file is gone
            record = data.record(missing)
            if live:
                data.kept.append(record)
            else:
                data.expected["results"].append(str(record))
    data.kept.append(data.record(data.folder("approved-0") / "assets/gone-new.png", age=NOW))
    data.kept.append(_write(settings.results_dir / "reelflow-junk", b"not a record", OLD))
    async with session_scope() as session:
        old, recent = str(uuid.uuid4()), str(uuid.uuid4())
        session.add_all([_run(old, None, completed=True), _run(recent, None, completed=True,
                                                               age=NOW)])  # fmt: skip
    data.expected["executions"].append(old)
    data.expected["spill"].append(
        _write(settings.spill_dir / f"{uuid.uuid4()}.stderr.log", b"o" * 50_000, OLD)
    )
    data.kept.append(_write(settings.spill_dir / f"{uuid.uuid4()}.stdout.log", b"n", NOW))
    used = requirements_digest(TEST_SCRIPTS / "requirements" / "probe.txt")
    for name, age in ((used, OLD), ("a" * 64, OLD), ("b" * 64, NOW), ("not-a-digest", OLD)):
        venv = _write(settings.venvs_dir / name / "lib" / "site.py", b"p" * 30_000, age).parents[1]
        os.utime(venv, (age.timestamp(), age.timestamp()))
        (data.expected["venvs"] if name == "a" * 64 else data.kept).append(venv)
    data.expected = {k: sorted(map(str, v)) for k, v in data.expected.items()}
    return data


async def _plan(settings: Settings, older_than: timedelta = CUTOFF) -> Any:
    async with session_scope() as session:
        return await plan_prune(session=session, settings=settings, older_than=older_than, now=NOW)


async def _usage(settings: Settings) -> dict[str, int]:
    async with session_scope() as session:
        return await storage.storage_usage(session=session, settings=settings)


async def test_fifty_videos_prune_to_what_is_still_needed(database_url: str, capsys: Any) -> None:
    settings = get_settings()
    data = await _build(settings)
    before, disk_before = await _usage(settings), data_dir_usage(settings)
    plan = await _plan(settings)
    planned = {k: sorted(t.ref for t in plan.targets if t.kind == k) for k in KINDS}
    assert planned == data.expected
    assert plan.before == before
    sizes = totals(plan.targets)
    runs = len(data.expected["executions"])
    assert sizes["executions"] == (runs, runs * 5_000) and runs == 15 + 12 + 5 + 1
    assert sizes["outputs"] == (14, 14 * sum(FILES.values()))
    assert sizes["results"][0] == 14 * len(FILES) + 14
    assert sizes["venvs"] == (1, 30_000)
    assert sizes["spill"] == (4, 3 * 100_000 + 50_000)

    async with session_scope() as session:
        result = await apply_prune(plan, session=session)
    assert not result.skipped and totals(result.removed) == sizes
    after, disk_after = await _usage(settings), data_dir_usage(settings)
    for kind in KINDS:
        assert after[kind] == before[kind] - sizes[kind][1], kind
    assert disk_after["results"] < disk_before["results"]
    files_before, files_after = (
        sum(v for k, v in usage.items() if k not in ("database", "total"))
        for usage in (disk_before, disk_after)
    )
    assert files_before - files_after == sum(sizes[k][1] for k in ("spill", "results", "venvs"))
    with capsys.disabled():
        print(f"\n50 videos ({database_url.split(':')[0]}): kind, before → after (bytes)")
        for kind in KINDS:
            print(f"  {kind:11} {before[kind]:>12,} → {after[kind]:>12,}  ({sizes[kind][0]} items)")
        print(f"  data dir    {files_before:>12,} → {files_after:>12,}  (without the database)")

    missing = [path for path in data.kept if not path.exists()]
    assert not missing, "a live or awaiting video lost files"
    gone = [ref for refs in data.expected.values() for ref in refs if "/" in ref]
    assert not [ref for ref in gone if Path(ref).exists()]
    async with session_scope() as session:
        for run_id in data.needed_runs:
            row = await session.get_one(ScriptExecution, run_id)
            assert (row.stdout, row.stderr) == (STDOUT, STDERR)
        for run_id in data.expected["executions"]:
            row = await session.get_one(ScriptExecution, run_id)
            assert (row.stdout, row.stderr, row.stdout_spill) == ("", "", None)
            assert row.status == "completed" and row.script == "generate_asset"
    again = await _plan(settings)
    assert not again.targets, "a second prune finds nothing more"


async def test_what_a_video_started_needing_after_the_plan_is_not_removed(
    database_url: str,
) -> None:
    settings = get_settings()
    data = await _build(settings)
    plan = await _plan(settings)
    await _add_video(data, "generating_video", "rejected-0", NOW)  # the plan is made again
    async with session_scope() as session:
        result = await apply_prune(plan, session=session)
    kept = {t.ref for t in result.skipped}
    folder = data.folder("rejected-0")
    assert str(folder) in kept and (folder / "video" / "c.mp4").is_file()
    assert len([ref for ref in kept if "reelflow-assets-" in ref]) == len(FILES)


async def test_a_virtualenv_being_built_is_left_alone(settings: Settings) -> None:
    venv = _write(settings.venvs_dir / ("c" * 64) / "bin" / "python", b"x", OLD).parents[1]
    os.utime(venv, (OLD.timestamp(), OLD.timestamp()))
    plan = await _plan(settings)
    assert [t.ref for t in plan.targets if t.kind == "venvs"] == [str(venv)]
    with (settings.venvs_dir / f"{'c' * 64}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        async with session_scope() as session:
            result = await apply_prune(plan, session=session)
    assert venv.is_dir() and [t.ref for t in result.skipped] == [str(venv)]


async def test_nothing_younger_than_the_cutoff_goes(settings: Settings) -> None:
    await _build(settings)
    plan = await _plan(settings, older_than=timedelta(days=45))
    assert not plan.targets
    with pytest.raises(ConfigError, match="must not be negative"):
        await _plan(settings, older_than=timedelta(hours=-1))


def test_the_data_dir_usage_names_each_area(settings: Settings) -> None:
    _write(settings.data_dir / "reelflow.db", b"d" * 100, NOW)
    _write(settings.results_dir / "r", b"r" * 10, NOW)
    _write(settings.venvs_dir / ("a" * 64) / "x", b"v" * 20, NOW)
    _write(settings.venvs_dir / f"{'a' * 64}.lock", b"", NOW)
    _write(settings.spill_dir / "s.log", b"s" * 30, NOW)
    _write(settings.data_dir / "reelflow.db.migrate.lock", b"l", NOW)
    _write(settings.data_dir / "notes.txt", b"n" * 5, NOW)
    assert data_dir_usage(settings) == {
        "database": 100, "results": 10, "venvs": 20, "spill": 30, "locks": 1, "other": 5,
        "total": 166,
    }  # fmt: skip
    assert storage.human_bytes(1536) == "1.5 KiB" and storage.human_bytes(12) == "12 B"
