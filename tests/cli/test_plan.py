"""``reelflow plan``: a topic through the Gemini stand-in (a refused answer fed back, then a
valid one), an outline offline, a plan checked; every failure one line, no file left."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core import executions
from flows.core.manifest import load_manifest
from flows.core.models import ScriptExecution
from flows.core.settings import Settings
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT, Configure
from tests.planning.fake_gemini import FakeGeminiText
from tests.postgres import run_async

pytest_plugins = ["tests.planning.fixtures"]

runner = CliRunner()
OUTLINE = PROJECT_ROOT / "examples" / "outline.md"
TOPIC = ["plan", "How rivers carve canyons", "--minutes", "0.25"]
BAD_ID = (
    '{"title": "Canyons", "project_id": "canyons", "scenes": [{"id": "Part One", '
    '"title": "One", "background": "a canyon", "motion": "slow zoom in", "duration": 15, '
    '"narration": "Water cuts stone."}]}'
)


@pytest.fixture
def settings(configure: Configure) -> Settings:
    return configure(scripts_dir=PROJECT_ROOT / "scripts")


def plan_runs() -> list[ScriptExecution]:
    async def rows() -> list[ScriptExecution]:
        async with session_scope() as session:
            return await executions.list_executions(session=session, script="plan_video")

    return run_async(rows())


def test_a_topic_becomes_a_valid_plan_after_the_refused_answer_is_fed_back(
    settings: Settings, gemini_text: FakeGeminiText, tmp_path: Path
) -> None:
    gemini_text.answers.append(BAD_ID)
    out = tmp_path / "canyons.yaml"
    result = runner.invoke(app, [*TOPIC, "--style", "documentary", "--out", str(out),
                                 "--resolution", "160x90", "--fps", "12"])  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = load_manifest(out)
    assert [s.id for s in plan.scenes] == ["part-1", "part-2", "part-3"]
    assert (plan.resolution, plan.fps, plan.voice) == ("160x90", 12, "en")
    text = out.read_text()
    assert "# narration voice" in text and "# camera move" in text, "fields are explained"
    assert "answer 2 of at most 3" in result.stdout
    asked = gemini_text.seen(path="/v1beta/models/gemini-3.8-flash:generateContent")
    assert [s.status for s in asked] == [200, 200]
    assert asked[0].headers["x-goog-api-key"] == gemini_text.key
    config = asked[0].body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"]["scenes"]["items"]["required"][:2] == [
        "id", "title",
    ]  # fmt: skip
    turns = asked[1].body["contents"]
    assert [t["role"] for t in turns] == ["user", "model", "user"]
    assert turns[1]["parts"][0]["text"] == BAD_ID
    assert "scene 'Part One' (#1) id: use lowercase letters" in turns[2]["parts"][0]["text"]
    runs = plan_runs()
    assert len(runs) == 2 and all(r.status == "completed" for r in runs)
    assert all(r.output["cost_usd"] > 0 for r in runs), "each answer is priced"
    assert gemini_text.key not in str([r.input for r in runs]) + result.output


def test_the_feedback_loop_stops_after_the_set_tries_with_the_last_problem(
    settings: Settings, gemini_text: FakeGeminiText, tmp_path: Path
) -> None:
    gemini_text.answers += [BAD_ID, '{"title": "Canyons", "scenes": [']
    out = tmp_path / "never.yaml"
    result = runner.invoke(app, [*TOPIC, "--tries", "2", "--out", str(out)])
    assert result.exit_code == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: gemini-3.8-flash gave no valid plan in 2 tries ($0.")
    assert error.endswith("the last problem: answer 2: not valid JSON: Expecting value at "
                          "line 1, column 33")  # fmt: skip
    assert len(gemini_text.seen(method="POST")) == 2, "no third ask"
    assert not out.exists() and list(tmp_path.glob(".never*")) == []


def test_a_refused_key_a_missing_key_and_an_unpriced_model_are_one_line_each(
    settings: Settings, gemini_text: FakeGeminiText, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    out = tmp_path / "p.yaml"
    monkeypatch.setenv("REELFLOW_GEMINI_API_KEY", "AIza-wrong-key-0000")
    wrong = runner.invoke(app, [*TOPIC, "--out", str(out)])
    assert wrong.exit_code == 1
    assert "API key not valid" in wrong.stderr and "AIza-wrong-key-0000" not in wrong.output
    unpriced = runner.invoke(app, [*TOPIC, "--model", "gemini-2.5-flash", "--out", str(out)])
    assert unpriced.exit_code == 1
    assert "no price for gemini gemini-2.5-flash" in unpriced.stderr
    monkeypatch.delenv("REELFLOW_GEMINI_API_KEY")
    keyless = runner.invoke(app, [*TOPIC, "--out", str(out)])
    assert keyless.exit_code == 1
    assert "REELFLOW_GEMINI_API_KEY is not set" in keyless.stderr and "--from" in keyless.stderr
    assert len(gemini_text.seen()) == 1, "only the refused key reached the service"
    assert not out.exists()


@pytest.mark.usefixtures("prefect_api")
def test_a_channel_gives_the_plan_its_gemini_key_and_base_url(
    settings: Settings, gemini_text: FakeGeminiText, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """``--channel NAME``: the key from the channel's GeminiCredentials block and its base
    URL, with neither in this process's environment; the key never printed."""
    name = f"plans-{uuid.uuid4().hex[:8]}"
    asyncio.run(_save_gemini_block(name, gemini_text.key))
    monkeypatch.delenv("REELFLOW_GEMINI_API_KEY")
    monkeypatch.delenv("REELFLOW_GEMINI_BASE_URL")
    made = runner.invoke(app, ["channel", "create", name, "--credentials", f"gemini={name}",
                               "--base-url", f"gemini={gemini_text.url}"])  # fmt: skip
    assert made.exit_code == 0, made.output
    out = tmp_path / "canyons.yaml"
    result = runner.invoke(app, [*TOPIC, "--channel", name, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_manifest(out).channel == name
    [asked] = gemini_text.seen(method="POST")
    assert asked.headers["x-goog-api-key"] == gemini_text.key
    assert gemini_text.key not in result.output
    keyless = runner.invoke(app, [*TOPIC, "--channel", "nobody-here", "--out", str(out)])
    assert keyless.exit_code == 1
    assert "channel 'nobody-here' uses gemini but has no credentials" in keyless.stderr
    assert len(gemini_text.seen(method="POST")) == 1, "nothing sent without a key"


async def _save_gemini_block(name: str, key: str) -> None:
    from blocks import Channel
    from blocks.providers import GeminiCredentials
    from flows.bootstrap import ensure_block_types

    await ensure_block_types(GeminiCredentials, Channel)
    await GeminiCredentials(api_key=SecretStr(key)).asave(name)


def test_an_outline_is_planned_offline_the_same_every_time(
    settings: Settings, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for out in (first, second):
        result = runner.invoke(app, ["plan", "--from", str(OUTLINE), "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert first.read_text().replace(str(first), "") == second.read_text().replace(str(second), "")
    assert load_manifest(first).title == "How Rivers Carve Canyons"
    again = runner.invoke(app, ["plan", "--from", str(OUTLINE), "--out", str(first)])
    assert again.exit_code == 1 and "exists: give --force" in again.stderr


def test_check_says_which_narration_is_cut(settings: Settings, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "title: T\nproject_id: t\nscenes:\n  - id: a\n    title: A\n    background: sea\n"
        "    duration: 1\n    narration: This sentence is far too long to be said in a second.\n"
    )
    result = runner.invoke(app, ["plan", "--check", str(plan)])
    assert result.exit_code == 0, result.output
    assert "a valid plan: 'T', 1 scenes, 1 s" in result.stdout
    assert "fit: scene 'a' (#1): narration is estimated at 3.0 s, the scene 1 s: it is cut" in (
        result.stderr
    )
    none = runner.invoke(app, ["plan"])
    assert none.exit_code == 1 and "give one of TOPIC" in none.stderr
