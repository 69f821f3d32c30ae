"""``reelflow script`` and ``reelflow db`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli.main import app
from flows.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_shows_each_registered_script(settings: Settings) -> None:
    result = invoke("script", "list")
    assert result.exit_code == 0
    assert "echo" in result.stdout and "disabled" in result.stdout
    assert "shell" in result.stdout and "binary" in result.stdout


def test_run_prints_the_result_as_json(settings: Settings) -> None:
    result = invoke("script", "run", "echo", "--input", '{"a": 1}', "-q", "--", "x", "--y")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["output"]["input"] == {"a": 1}
    assert printed["output"]["args"] == ["x", "--y"]
    assert printed["exit_code"] == 0


def test_run_reads_input_from_a_file(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"from": "file"}')
    result = invoke("script", "run", "echo", "--input", f"@{tmp_path / 'in.json'}", "-q")
    assert json.loads(result.stdout)["output"]["input"] == {"from": "file"}


def test_run_refuses_input_that_is_not_json(settings: Settings) -> None:
    result = invoke("script", "run", "echo", "--input", "{nope")
    assert result.exit_code == 1
    assert "--input is not valid JSON" in result.stderr


def test_a_failing_script_is_one_clear_line_and_a_nonzero_exit(settings: Settings) -> None:
    result = invoke("script", "run", "fail", "-i", '{"code": 3, "message": "bad prompt"}', "-q")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: fail: exited with code 3: boom: bad prompt"
    )


def test_a_transient_failure_exits_75(settings: Settings) -> None:
    result = invoke("script", "run", "fail", "-i", '{"code": 75}', "-q")
    assert result.exit_code == 75


def test_an_unknown_script_is_named(settings: Settings) -> None:
    result = invoke("script", "run", "nope")
    assert result.exit_code == 1
    assert "nope: not in the registry" in result.stderr


def test_history_pages_and_show_finds_a_run_by_prefix(settings: Settings) -> None:
    for n in range(3):
        invoke("script", "run", "echo", "-i", json.dumps({"n": n}), "-q")
    invoke("script", "run", "hello", "-q")
    listed = invoke("script", "history", "echo", "--limit", "2").stdout.splitlines()
    assert len(listed) == 3 and all("echo" in line for line in listed[1:])
    second_page = invoke("script", "history", "echo", "--limit", "2", "--offset", "2")
    assert len(second_page.stdout.splitlines()) == 2
    prefix = listed[1].split()[0]
    shown = json.loads(invoke("script", "show", prefix).stdout)
    assert shown["script"] == "echo" and shown["status"] == "completed"
    assert shown["input"] == {"n": 2}


def test_db_upgrade_brings_the_database_to_the_newest_migration(settings: Settings) -> None:
    head = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))[-1][:4]
    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0 and f"is at revision {head}" in upgraded.stdout
    current = invoke("db", "current")
    assert f"database: {head}" in current.stdout and f"code:     {head}" in current.stdout
