"""produce_video on a channel whose providers are the fake Gemini, Kling and ElevenLabs.

The channel is real blocks on the test Prefect server (credential blocks holding canary keys,
base URLs pointing at the fakes); only the providers are fake, at the HTTP level.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from sqlalchemy import select

from flows.core import videos
from flows.core.errors import StepError
from flows.core.media import probe
from flows.core.models import ScriptExecution, StepRun, Video, VideoEvent
from flows.core.settings import Settings
from flows.core.store import session_scope
from flows.review.previews import scene_costs
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import produce, runs_by_label, statuses
from tests.scripts.providers.fakes import ChannelMaker, Fakes

pytest_plugins = ["tests.scripts.providers.fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.exc_text or ''}")


@pytest.fixture
def records() -> Iterator[Records]:
    """Every log record of Prefect's loggers and ours, printed or not."""
    handler = Records()
    names = [
        "",
        "prefect",
        "prefect.flow_runs",
        "prefect.task_runs",
        "reelflow",
        "reelflow.scripts",
    ]
    for name in names:
        logging.getLogger(name).addHandler(handler)
    yield handler
    for name in names:
        logging.getLogger(name).removeHandler(handler)


@pytest.fixture
def paid_settings(configure: Configure, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REELFLOW_KLING_POLL_SECONDS", "0.05")
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


async def _rows(video_id: int) -> dict[str, list[Any]]:
    async with session_scope() as session:
        return {
            "video": [await videos.get_video(session=session, video_id=video_id)],
            "steps": list(
                await session.scalars(select(StepRun).where(StepRun.video_id == video_id))
            ),
            "runs": list(await session.scalars(select(ScriptExecution))),
            "events": list(await session.scalars(select(VideoEvent))),
        }


async def _prefect_text(flow_run_id: str, until: str) -> str:
    """The flow run's logs and every task run's state message, as the Prefect API has them."""
    async with get_client() as client:
        logs: list[str] = []
        for _ in range(20):  # logs reach the API in batches
            found = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                limit=200, offset=0,
            )  # fmt: skip
            logs = [log.message for log in found]
            if any(f"{until} " in m or m.endswith(until) for m in logs):
                break
            await asyncio.sleep(0.25)
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    messages = [run.state.message or "" for run in runs if run.state]
    assert logs, "the run's logs were read back"
    return "\n".join(logs + messages)


def _stored(settings: Settings) -> bytes:
    """Every file under the data directory (database, cached results) and the outputs."""
    files = [*settings.data_dir.rglob("*"), *settings.output_dir.rglob("*")]
    return b"".join(p.read_bytes() for p in files if p.is_file())


def _assert_no_secret(fakes: Fakes, *texts: str, stored: bytes) -> None:
    secrets = fakes.secrets()
    assert len(secrets) > 4, "the Kling tokens that were sent are searched for too"
    for secret in secrets:
        for text in texts:
            assert secret not in text
        assert secret.encode() not in stored


async def test_a_paid_channel_makes_the_video_retrying_only_the_rate_limited_item_and_records_costs(
    paid_settings: Settings, fakes: Fakes, paid_channel: ChannelMaker, records: Records,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    channel = await paid_channel()
    fakes.gemini.fail(429, retry_after="1", method="POST")
    result = await produce(channel=channel)
    info = probe(Path(result["output"]))
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration - 5.0) <= 0.5

    runs, failed = await runs_by_label(), await runs_by_label("failed")
    [limited] = [label for label, n in runs.items() if n == 2]
    assert limited.startswith("assets/") and failed == {limited: 1}
    assert all(n == 1 for label, n in runs.items() if label != limited), "nothing else re-ran"
    assert len(fakes.gemini.seen("POST")) == 6 and len(fakes.kling.created()) == 3
    assert len(fakes.elevenlabs.seen("POST")) == 6

    images = [s for s in fakes.gemini.seen("POST", status=200)]
    words = [len(s.body["contents"][0]["parts"][0]["text"].split()) for s in images]
    expected = {
        "assets": sum(round((w * 0.30 + 1290 * 30.0) / 1e6, 6) for w in words),
        "composites": 0.0,
        "video": 3 * 5 * 0.042,
        "narration": sum(len(t) for t in ("The day begins by the sea.",
                                          "Deep in the forest, birds sing.",
                                          "Then the storm arrives.")) * 0.10 / 1000,
        "sfx": (1.5 + 1.5 + 2.0) * 0.0025,
        "assembly": 0.0,
    }  # fmt: skip
    rows = await _rows(result["video_id"])
    assert {s.step: s.cost_usd for s in rows["steps"]} == pytest.approx(expected)
    video: Video = rows["video"][0]
    assert video.cost_usd == pytest.approx(sum(expected.values())) == result["cost_usd"]
    done = [r for r in rows["runs"] if r.status == "completed"]
    done = [r for r in done if r.label]  # items (publishing runs have no label)
    by_step = {step: sum(r.output["cost_usd"] for r in done if r.label.startswith(step + "/"))
               for step in expected}  # fmt: skip
    assert by_step == pytest.approx(expected), "the items' costs add up to their step's"
    assert {r.output["provider"] for r in done if r.label.startswith("video/")} == {"kling"}
    per_scene = await scene_costs(result["video_id"], ["dawn", "forest", "storm"])
    assert set(per_scene) == {"dawn", "forest", "storm"}
    assert sum(per_scene.values()) == pytest.approx(video.cost_usd)
    assert per_scene["storm"] > per_scene["forest"] > 0, "two pictures and a longer sfx"

    captured = capfd.readouterr()
    prefect_text = await _prefect_text(str(video.flow_run_id), "assembling")
    db_text = (
        "\n".join(
            f"{r.input} {r.args} {r.output} {r.stdout} {r.stderr} {r.error}" for r in rows["runs"]
        )
        + "\n".join(f"{e.detail} {e.status}" for e in rows["events"])
        + str(video.error)
    )
    _assert_no_secret(
        fakes, captured.out + captured.err, "\n".join(records.lines), prefect_text, db_text,
        stored=_stored(paid_settings),
    )  # fmt: skip


async def test_a_rejected_key_fails_its_step_at_once_without_retries_or_leaks(
    paid_settings: Settings, fakes: Fakes, paid_channel: ChannelMaker, records: Records,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    wrong = "sk_WRONG-elevenlabs-canary-7731"
    channel = await paid_channel(keys={"elevenlabs_key": wrong})
    with pytest.raises(StepError, match="invalid_api_key"):
        await produce(channel=channel)
    runs = await runs_by_label()
    narration = {label: n for label, n in runs.items() if label.startswith("narration/")}
    assert narration == {"narration/dawn": 1, "narration/forest": 1, "narration/storm": 1}
    assert [s.status for s in fakes.elevenlabs.seen()] == [401, 401, 401], "each tried once"
    assert not any(label.startswith("sfx/") for label in runs), "the run stopped there"
    async with session_scope() as session:
        video = (await videos.list_videos(session=session))[0][0]
    assert video.status == "audio_error" and "Invalid API key" in (video.error or "")
    assert (await statuses(video.id))[-1] == "audio_error"
    captured = capfd.readouterr()
    prefect_text = await _prefect_text(str(video.flow_run_id), "audio_error")
    for text in (captured.out + captured.err, "\n".join(records.lines), prefect_text):
        assert wrong not in text
    assert wrong.encode() not in _stored(paid_settings)
