"""``reelflow estimate``: a plan's cost per step on a channel, without running anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core.settings import Settings
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY
from tests.scripts.providers.fakes import Fakes

pytest_plugins = ["tests.scripts.providers.fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")

runner = CliRunner()


@pytest.fixture
def settings(configure: Configure) -> Settings:
    """A fresh data directory with the project's scripts (their registry keys the cache)."""
    return configure(scripts_dir=PROJECT_ROOT / "scripts")


def test_each_steps_cost_and_the_total_are_printed_and_nothing_runs(
    settings: Settings, fakes: Fakes, channel_on_fakes: Callable[..., str]
) -> None:
    name = channel_on_fakes(budget=0.5)
    result = runner.invoke(app, ["estimate", str(TINY), "--channel", name])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Tiny Test Film (tiny): 3 scenes, 5 s, on channel {name!r}"
    rows = [line.split() for line in lines[2:8]]
    assert rows == [
        ["assets", "gemini", "gemini-2.5-flash-image", "5", "0", "$0.1950"],
        ["composites", "local", "-", "3", "0", "$0.0000"],
        ["video", "kling", "kling-v2-5-turbo:std", "3", "0", "$0.6300"],
        ["narration", "elevenlabs", "eleven_multilingual_v2", "3", "0", "$0.0080"],
        ["sfx", "elevenlabs", "eleven_text_to_sound_v2", "3", "0", "$0.0125"],
        ["assembly", "local", "-", "1", "0", "$0.0000"],
    ]
    assert lines[8].split() == ["total", "$0.8455"]
    assert lines[9] == "budget $0.50 (channel): $0.3455 over"
    assert fakes.gemini.seen() == fakes.kling.seen() == fakes.elevenlabs.seen() == []
    assert not settings.output_dir.exists(), "nothing was made"


def test_json_output_and_another_price_table(
    settings: Settings, channel_on_fakes: Callable[..., str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[gemini."gemini-2.5-flash-image"]\nper_image = 1.0\n'
        '[kling."kling-v2-1"]\npro = 0.1\n'
        "[elevenlabs.speech]\neleven_multilingual_v2 = 1.0\n"
        "[elevenlabs.sound]\neleven_text_to_sound_v2 = 0.0\n"
    )
    monkeypatch.setenv("REELFLOW_PRICES", str(prices))
    name = channel_on_fakes(models={"video": "kling-v2-1:pro"})
    result = runner.invoke(app, ["estimate", str(TINY), "--channel", name, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    costs = {step["step"]: step["cost_usd"] for step in report["steps"]}
    assert costs == {"assets": 5.0, "composites": 0.0, "video": 1.5, "narration": 0.08,
                     "sfx": 0.0, "assembly": 0.0}  # fmt: skip
    assert report["total_usd"] == 6.58 and report["prices"] == str(prices)
    assert (report["budget_usd"], report["budget_from"]) == (None, None)


def test_a_plan_on_local_providers_costs_nothing(settings: Settings) -> None:
    result = runner.invoke(app, ["estimate", str(TINY)])
    assert result.exit_code == 0, result.output
    assert "on channel 'default'" in result.stdout
    assert result.stdout.splitlines()[8].split() == ["total", "$0.0000"]
    assert "no budget set" in result.stdout


def test_an_unpriced_model_is_an_error_not_free(
    settings: Settings, channel_on_fakes: Callable[..., str]
) -> None:
    name = channel_on_fakes(models={"video": "kling-v9"})
    result = runner.invoke(app, ["estimate", str(TINY), "--channel", name])
    assert result.exit_code == 1
    assert "error: no price for kling kling-v9 std" in result.stderr


def test_run_with_a_budget_below_the_first_paid_step_stops_before_spending(
    settings: Settings, fakes: Fakes, channel_on_fakes: Callable[..., str]
) -> None:
    name = channel_on_fakes(budget=50.0)  # the channel's budget is overridden by --budget
    result = runner.invoke(
        app, ["run", str(TINY), "--channel", name, "--budget", "0.1", "--approve"]
    )
    assert result.exit_code != 0
    assert "$0.10 budget" in result.output
    assert fakes.paid() == 0, "no provider was asked for anything"
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert [video["status"] for video in status] == ["budget_exceeded"]
