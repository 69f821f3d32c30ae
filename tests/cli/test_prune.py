"""``reelflow prune`` and ``reelflow status``'s data usage; a pruned cache still serves a run."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core import executions, videos
from flows.core.manifest import parse_manifest
from flows.core.models import Video, utcnow
from flows.core.settings import Settings
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY

runner = CliRunner()


async def rejected_video(settings: Settings, project: str, days_ago: float) -> Path:
    """A rejected video of ``project``, ``days_ago`` old, with a 10,000-byte output folder."""
    plan = yaml.safe_load(TINY.read_text()) | {"project_id": project}
    when = utcnow() - timedelta(days=days_ago)
    async with session_scope() as session:
        video = await videos.create_video(
            session=session, channel="main", manifest=parse_manifest(plan)
        )
        for status in ("generating_assets", "assembling", "awaiting_review", "rejected"):
            await videos.set_status(session=session, video_id=video.id, status=status)
        await session.execute(update(Video).where(Video.id == video.id).values(updated_at=when))
    folder = settings.output_dir / "main" / project
    (folder / "assembly").mkdir(parents=True)
    (folder / "assembly" / f"{project}.mp4").write_bytes(b"v" * 10_000)
    return folder


@pytest.mark.parametrize("value", ["30", "30x", "-5d", "d", "", "3 days"])
def test_a_bad_age_is_one_clear_error(settings: Settings, value: str) -> None:
    result = runner.invoke(app, ["prune", "--older-than", value])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: --older-than {value!r}: give a number and a unit, such as 30d, 12h or 90m"
    ]


def test_a_dry_run_lists_what_would_go_and_removes_nothing(settings: Settings) -> None:
    old = asyncio.run(rejected_video(settings, "old", days_ago=40))
    recent = asyncio.run(rejected_video(settings, "recent", days_ago=2))
    result = runner.invoke(app, ["prune", "--older-than", "30d", "--dry-run"])
    assert result.exit_code == 0, result.output
    outputs = _row(result.stdout, "outputs")
    assert outputs[:3] == ["outputs", "1", "9.8"], result.stdout  # 10,000 B of 20,000 would go
    assert outputs[4:] == ["19.5", "KiB", "9.8", "KiB"], result.stdout
    assert "dry run: nothing was removed" in result.stdout
    assert old.is_dir() and recent.is_dir()

    result = runner.invoke(app, ["prune", "--older-than", "72h"])
    assert result.exit_code == 0, result.output
    assert not old.is_dir() and recent.is_dir()
    assert "REMOVED" in result.stdout and "dry run" not in result.stdout
    again = runner.invoke(app, ["prune", "--older-than", "90m"]).stdout
    assert _row(again, "outputs")[:2] == ["outputs", "1"] and not recent.is_dir()


def test_status_shows_what_the_data_dir_holds(settings: Settings) -> None:
    settings.results_dir.mkdir(parents=True)
    (settings.results_dir / "reelflow-x").write_bytes(b"r" * 2048)
    human = runner.invoke(app, ["status"])
    assert human.exit_code == 0, human.output
    assert f"data {settings.data_dir}:" in human.stdout and "results 2.0 KiB" in human.stdout
    assert json.loads(runner.invoke(app, ["status", "--json"]).stdout) == []
    usage = json.loads(runner.invoke(app, ["status", "--data", "--json"]).stdout)
    assert usage["results"] == 2048 and usage["total"] >= 2048
    assert usage["data_dir"] == str(settings.data_dir)
    refused = runner.invoke(app, ["status", "1", "--data"])
    assert refused.exit_code == 1 and "leave out the video id" in refused.stderr


@pytest.mark.usefixtures("prefect_api")
def test_after_pruning_everything_old_the_same_plan_runs_nothing_again(
    configure: Configure,
) -> None:
    settings = configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")
    first = runner.invoke(app, ["run", str(TINY), "--approve"])
    assert first.exit_code == 0, first.output
    before = asyncio.run(_count_executions())
    assert before == (18, 1), "18 items, and the approved video published once"
    stdout_before = asyncio.run(_logged_bytes())
    assert stdout_before > 0
    pruned = runner.invoke(app, ["prune", "--older-than", "0m"])
    assert pruned.exit_code == 0, pruned.output
    assert _row(pruned.stdout, "executions")[1] == "19", pruned.stdout
    assert _row(pruned.stdout, "results")[1] == _row(pruned.stdout, "outputs")[1] == "0"
    assert asyncio.run(_logged_bytes()) == 0, "every run's output was cleared"
    assert len(os.listdir(settings.results_dir)) == 18, "every cached result stays"

    second = runner.invoke(app, ["run", str(TINY), "--approve"])
    assert second.exit_code == 0, second.output
    assert asyncio.run(_count_executions()) == (18, 2), "no item ran again: all cached"
    assert "video 2:" in second.stdout


def _row(output: str, kind: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [kind])


async def _count_executions() -> tuple[int, int]:
    """Item runs (labelled) and other script runs (publishing)."""
    async with session_scope() as session:
        rows = await executions.list_executions(session=session, limit=10_000)
    items = sum(1 for row in rows if row.label)
    return items, len(rows) - items


async def _logged_bytes() -> int:
    async with session_scope() as session:
        rows = await executions.list_executions(session=session, limit=1000)
    return sum(len(row.stdout) + len(row.stderr) for row in rows)
