"""The ``reelflow`` command itself: settings that cannot be used are one line, for every
command, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core.settings import get_settings
from tests.conftest import Configure
from tests.factories import TINY

runner = CliRunner()

COMMANDS = [["videos", "list"], ["status"], ["run", str(TINY), "--approve"], ["db", "current"]]


@pytest.fixture
def bad_setting(configure: Configure, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    configure()

    def apply(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    return apply


def _one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: settings: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("REELFLOW_DATABASE_URL", "garbage", "sqlite+aiosqlite:///PATH or postgresql+asyncpg://"),
        ("REELFLOW_DATABASE_URL", "mysql://ada:hunter2@db/x", "postgresql+asyncpg://"),
        ("REELFLOW_OUTPUT_STRATEGY", "bogus", "'head_tail', 'truncate', 'fail' or 'spill'"),
        ("REELFLOW_KILL_GRACE_SECONDS", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it_its_value_and_what_is_allowed(
    bad_setting, args, name, value, allowed
) -> None:  # type: ignore[no-untyped-def]
    bad_setting(name, value)
    line = _one_line_error(args)
    assert f"{name}=" in line and allowed in line
    assert "hunter2" not in line
    shown = value.replace("hunter2", "***")
    assert repr(shown) in line


def test_an_unwritable_data_dir_is_one_line(bad_setting, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a-file").write_text("")
    bad_setting("REELFLOW_DATA_DIR", str(tmp_path / "a-file" / "data"))
    line = _one_line_error(["videos", "list"])
    assert "REELFLOW_DATA_DIR=" in line and "must be a writable directory" in line


def test_every_bad_setting_is_named_on_the_same_line(bad_setting) -> None:  # type: ignore[no-untyped-def]
    bad_setting("REELFLOW_OUTPUT_STRATEGY", "bogus")
    bad_setting("REELFLOW_KILL_GRACE_SECONDS", "-1")
    line = _one_line_error(["videos", "list"])
    assert "REELFLOW_OUTPUT_STRATEGY=" in line and "REELFLOW_KILL_GRACE_SECONDS=" in line


@pytest.mark.parametrize(
    ("given", "means"),
    [
        ("postgresql://ada:pw@db:5432/reelflow", "postgresql+asyncpg://ada:pw@db:5432/reelflow"),
        ("postgres://ada@db/reelflow", "postgresql+asyncpg://ada@db/reelflow"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_a_url_without_its_async_driver_means_ours(bad_setting, given, means) -> None:  # type: ignore[no-untyped-def]
    bad_setting("REELFLOW_DATABASE_URL", given)
    assert get_settings().database_url == means


def test_help_works_with_bad_settings(bad_setting) -> None:  # type: ignore[no-untyped-def]
    bad_setting("REELFLOW_OUTPUT_STRATEGY", "bogus")
    result = runner.invoke(app, ["videos", "list", "--help"])
    assert result.exit_code == 0 and "--status" in result.stdout
