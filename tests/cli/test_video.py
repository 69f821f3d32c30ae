"""``reelflow run``, ``status`` and ``videos list`` on the tiny plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core.names import CHANNEL_RULE
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY

runner = CliRunner()


@pytest.fixture
def cli_settings(configure: Configure) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


@pytest.mark.usefixtures("prefect_api", "cli_settings")
def test_run_approves_and_prints_the_output() -> None:
    result = runner.invoke(app, ["run", str(TINY), "--channel", "cli", "--approve"])
    assert result.exit_code == 0, result.output
    assert "tiny.mp4" in result.stdout and "review: approve" in result.stdout
    status = json.loads(runner.invoke(app, ["status", "1", "--json"]).stdout)
    assert status["status"] == "published" and status["channel"] == "cli"  # approved first
    assert status["steps"]["video"] == {
        "status": "completed", "items_done": 3, "items_total": 3, "items_cached": 0,
        "duration_s": status["steps"]["video"]["duration_s"], "cost_usd": 0.0,
    }  # fmt: skip
    listed = runner.invoke(app, ["videos", "list"]).stdout
    assert "published" in listed and "Tiny Test Film" in listed
    human = runner.invoke(app, ["status", "1"]).stdout
    assert "status: published" in human and "assembly" in human
    assert status["review_round"] == 1 and status["decision"].startswith("approved")
    assert "review round 1: approved" in human


@pytest.mark.usefixtures("prefect_api", "cli_settings")
def test_run_rejects_with_the_reason() -> None:
    result = runner.invoke(app, ["run", str(TINY), "--reject", "too short"])
    assert result.exit_code == 0, result.output
    assert "review: reject" in result.stdout
    states = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert states[0]["status"] == "rejected" and states[0]["error"] == "too short"
    assert states[0]["decision"].startswith("rejected") and "too short" in states[0]["decision"]


@pytest.mark.usefixtures("cli_settings")
def test_without_an_answer_or_a_terminal_it_says_so_before_starting() -> None:
    result = runner.invoke(app, ["run", str(TINY)])
    assert result.exit_code == 1
    assert "no terminal to ask: pass --approve or --reject REASON" in result.stderr
    assert json.loads(runner.invoke(app, ["status", "--json"]).stdout) == []


@pytest.mark.usefixtures("cli_settings")
def test_an_invalid_plan_is_named_before_anything_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("duration: 2\n", "duration: zero\n"))
    result = runner.invoke(app, ["run", str(bad), "--approve"])
    assert result.exit_code == 1
    assert "scene 'storm' (#3) duration" in result.stderr


@pytest.mark.usefixtures("cli_settings")
def test_approve_and_reject_together_are_refused() -> None:
    result = runner.invoke(app, ["run", str(TINY), "--approve", "--reject", "no"])
    assert result.exit_code == 1
    assert "not both" in result.stderr


def _files(folder) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(path) for path in folder.rglob("*")} if folder.exists() else set()


@pytest.mark.usefixtures("prefect_api", "cli_settings")
@pytest.mark.parametrize("channel", ["/tmp/x", "../up", "ABSOLUTE"])
def test_a_channel_that_would_leave_the_output_dir_is_refused(tmp_path, channel) -> None:  # type: ignore[no-untyped-def]
    if channel == "ABSOLUTE":  # like /tmp/x, but a folder this test owns
        channel = str(tmp_path / "escaped")
    before, tmp_x = _files(tmp_path), _files(Path("/tmp/x"))
    result = runner.invoke(app, ["run", str(TINY), "--approve", "--channel", channel])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"error: channel name {channel!r}: {CHANNEL_RULE}"], (
        result.stderr
    )
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "up").exists()
    inside = (tmp_path / "output", tmp_path / "data")
    new = _files(tmp_path) - before
    assert not [p for p in new if not any(Path(p).is_relative_to(d) for d in inside)], new
    assert _files(Path("/tmp/x")) == tmp_x
    assert json.loads(runner.invoke(app, ["status", "--json"]).stdout) == []


@pytest.mark.usefixtures("cli_settings")
def test_a_plan_whose_channel_leaves_the_output_dir_is_refused_at_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        TINY.read_text().replace(
            "project_id: tiny\n", "project_id: tiny\nchannel: ../../tmp/escaped\n"
        )
    )
    result = runner.invoke(app, ["run", str(bad), "--approve"])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"error: {bad}: channel: channel name '../../tmp/escaped': {CHANNEL_RULE}"
    ]
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "tmp").exists()
    assert json.loads(runner.invoke(app, ["status", "--json"]).stdout) == []


@pytest.mark.usefixtures("cli_settings")
def test_an_unknown_status_is_refused_naming_the_valid_ones() -> None:
    result = runner.invoke(app, ["videos", "list", "--status", "nonsense"])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: unknown status 'nonsense'; one of: ")
    assert "awaiting_review" in line and "approved" in line
    assert runner.invoke(app, ["videos", "list", "--status", "approved"]).exit_code == 0
