"""Unattended for weeks: one run per video, nothing stuck after a kill, failures tried later,
no spending over an estimate. Real CLI processes, a real Prefect API, real signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flows.core import videos
from flows.core.models import utcnow
from flows.core.store import session_scope
from tests.conftest import Configure
from tests.factories import TINY, runs_by_label, scripts_with_faults, statuses
from tests.test_pipeline import TINY_LABELS

REELFLOW = str(Path(sys.executable).with_name("reelflow"))
BUSY = re.compile(r"^error: video \d+ is being produced by run \S+ since \S+$")
pytestmark = pytest.mark.usefixtures("prefect_api")


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [REELFLOW, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip


async def _all_videos() -> list[Any]:
    async with session_scope() as session:
        return [v for v, _ in await videos.list_videos(session=session, limit=100)]


async def _video(video_id: int) -> Any:
    async with session_scope() as session:
        return await videos.get_video(session=session, video_id=video_id)


@pytest.fixture
def slow_clip(configure: Configure, tmp_path: Path, database_url: str) -> Path:
    """The project's scripts with storm's clip taking 4 s longer: runs overlap for sure."""
    scripts = scripts_with_faults(tmp_path, {"generate_video": [{"match": "/storm.mp4",
                                                                 "sleep": 4}]})  # fmt: skip
    configure(scripts_dir=scripts, retry_delay_seconds="0.05", database_url=database_url)
    return scripts


async def test_runs_of_one_plan_started_together_make_one_video_and_each_item_once(
    slow_clip: Path,
) -> None:
    plain, waiting, other = (
        _spawn("run", str(TINY), "--approve"),
        _spawn("run", str(TINY), "--approve", "--wait"),
        _spawn("run", str(TINY), "--approve"),
    )
    ended = [await asyncio.to_thread(p.communicate, timeout=240) for p in (plain, waiting, other)]
    codes = [p.returncode for p in (plain, waiting, other)]
    assert codes[1] == 0, f"the waiting run ends well: {ended[1][1][-2000:]}"
    winners = [i for i, code in enumerate(codes) if code == 0]
    for i, code in enumerate(codes):
        if code != 0:
            assert i != 1 and code == 1, ended[i][1][-2000:]
            lines = ended[i][1].strip().splitlines()
            assert any(BUSY.match(line) for line in lines), ended[i][1][-2000:]
            assert "Traceback" not in ended[i][1], "one line, not a traceback"
    assert winners, "one of them produced it"
    made = await _all_videos()
    assert len(made) == 1 and made[0].status == "published"  # approved, then published
    executed = await runs_by_label()
    assert set(executed) == TINY_LABELS
    twice = {label: n for label, n in executed.items() if n > 1}
    assert not twice, f"items executed twice: {twice}"
    assert "published meanwhile" in ended[1][0] or "review: approve" in ended[1][0]


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def _storm_clip_running() -> bool:
    return bool((await runs_by_label("running"))["video/storm"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
async def test_a_run_killed_mid_clip_is_never_left_working_and_recover_finishes_it(
    configure: Configure, tmp_path: Path, sig: signal.Signals
) -> None:
    scripts = scripts_with_faults(tmp_path, {"generate_video": [{"match": "/storm.mp4",
                                                                 "sleep": 30}]})  # fmt: skip
    configure(scripts_dir=scripts, retry_delay_seconds="0.05")
    child = _spawn("run", str(TINY), "--approve")
    try:
        await _until(_storm_clip_running, 120, "storm's clip to start")
    finally:
        child.send_signal(sig)
        await asyncio.to_thread(child.communicate, timeout=60)
    [video] = await _all_videos()
    if sig == signal.SIGKILL:  # nothing ran in the dead process: recover reaps it
        assert video.status == "generating_video"
        reaped = _spawn("recover", "--dry-run")
        out, _ = await asyncio.to_thread(reaped.communicate, timeout=120)
        assert f"would reap: {video.id}" in out
    else:
        assert video.status == "crashed", (video.status, video.error)
        assert video.error and video.run_lease is None
        assert not await runs_by_label("running"), "no execution is left running"
    done_before = await runs_by_label("completed")
    os.environ["REELFLOW_TEST_SKIP_SLEEP"] = "1"
    try:
        recovered = _spawn("recover", "--here", "--approve")
        out, err = await asyncio.to_thread(recovered.communicate, timeout=240)
    finally:
        os.environ.pop("REELFLOW_TEST_SKIP_SLEEP")
    assert recovered.returncode == 0, err[-3000:]
    assert f"crashed: {video.id}" in out
    video = await _video(video.id)
    assert video.status == "published" and video.attempts == 0
    history = await statuses(video.id)
    assert "crashed" in history and history[-3:] == ["approved", "publishing", "published"]
    assert history[history.index("crashed") + 1] == "queued"
    assert not await runs_by_label("running")
    completed = await runs_by_label("completed")
    assert not {label for label, n in completed.items() if n > 1}, "finished items ran twice"
    assert {label for label, n in completed.items() if n != done_before.get(label, 0)} >= {
        "video/storm", "assembly/final",
    }  # fmt: skip


async def test_recover_gives_up_after_the_channels_max_recoveries(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(max_recoveries="1")
    from flows.recover import take_recoverable
    from tests.factories import open_video

    video_id = await open_video()
    async with session_scope() as session:
        await videos.set_status(session=session, video_id=video_id, status="crashed")
    assert (await take_recoverable())["crashed"] == [video_id]
    assert (await take_recoverable())["crashed"] == [], "taken once: it is queued now"
    async with session_scope() as session:
        await videos.set_status(session=session, video_id=video_id, status="crashed")
    taken = await take_recoverable()
    assert taken["crashed"] == [] and taken["gave_up"] == [video_id]
    assert (await _video(video_id)).status == "crashed"


async def test_a_budget_below_the_plans_estimate_spends_nothing(
    configure: Configure, fakes: Any, paid_channel: Any
) -> None:
    from flows.core.errors import BudgetExceeded
    from tests.factories import produce

    configure(scripts_dir=Path(__file__).resolve().parents[1] / "scripts",
              retry_delay_seconds="0.05")  # fmt: skip
    channel = await paid_channel(budget=0.42)
    with pytest.raises(BudgetExceeded, match="what is left to make would cost about"):
        await produce(channel=channel, answer=False)
    assert fakes.paid() == 0 and not fakes.gemini.seen("POST"), "not one paid call"
    [video] = await _all_videos()
    assert video.status == "budget_exceeded" and "--allow-partial" in (video.error or "")
    assert video.cost_usd == 0.0


async def test_a_provider_down_for_a_while_is_retried_later_and_the_video_finishes_alone(
    configure: Configure, fakes: Any, paid_channel: Any
) -> None:
    from flows.recover import recover
    from flows.review import ReviewDecision, answer_when_paused
    from tests.factories import open_video

    configure(scripts_dir=Path(__file__).resolve().parents[1] / "scripts",
              retry_delay_seconds="0.05", retry_later_base_seconds="1")  # fmt: skip
    channel = await paid_channel(providers={"assets": "gemini"})
    # Later attempts 1, 2, 4… s after a failed one: a 10 s outage outlives the items' own
    # retries and one later attempt at least (the proof: 180 s).
    outage = float(os.environ.get("TEST_OUTAGE_SECONDS", "10"))
    fakes.gemini.down_for(outage, status=503)
    down_since = time.monotonic()
    video_id = await open_video(channel=channel)
    approve = ReviewDecision(decision="approve", reviewer="tests")

    async def decide(video: Any) -> ReviewDecision:
        return approve

    reviewer = asyncio.create_task(answer_when_paused(video_id, decide, poll=0.2, rounds=1))
    seen: list[str] = []
    try:
        from flows.launch import start_videos

        await start_videos([video_id], mode="here")
        deadline = time.monotonic() + outage + 150
        while (video := await _video(video_id)).status != "published":
            seen.append(video.status)
            assert video.status in ("retry_scheduled", "queued"), (video.status, video.error)
            assert time.monotonic() < deadline, "never finished"
            await recover(start="here")
            await asyncio.sleep(0.5)
    finally:
        reviewer.cancel()
        await asyncio.gather(reviewer, return_exceptions=True)
    history = await statuses(video_id)
    assert "retry_scheduled" in history and history[-1] == "published"
    assert "asset_error" not in history, "a transient outage never ends the video"
    assert time.monotonic() - down_since >= outage
    events = await _events(video_id, "retry_scheduled")
    waits = [e.detail["next_attempt_at"] for e in events]
    assert waits and waits == sorted(waits), "each later attempt is scheduled after the last"
    assert all(r.status in (503, 200) for r in fakes.gemini.seen("POST"))
    video = await _video(video_id)
    assert video.attempts == 0 and video.next_attempt_at is None


async def _events(video_id: int, status: str) -> list[Any]:
    async with session_scope() as session:
        events = await videos.list_events(session=session, video_id=video_id)
    return [e for e in events if e.status == status]


def test_retry_policy_backs_off_and_gives_up_past_its_maximum_age() -> None:
    from datetime import timedelta

    from flows.core.recovery import RetryPolicy

    policy = RetryPolicy(base_s=60, max_delay_s=600, max_age_s=3600)
    now = utcnow()
    delays = [
        (policy.next_attempt(attempts=n, first_failed_at=now, now=now) - now).total_seconds()  # type: ignore[operator]
        for n in range(6)
    ]
    assert delays == [60, 120, 240, 480, 600, 600]
    late = now + timedelta(minutes=58)  # 58 min + 4 min of back-off > 1 h
    assert policy.next_attempt(attempts=2, first_failed_at=now, now=late) is None
    assert RetryPolicy(retry_later=False).next_attempt(attempts=0, first_failed_at=None,
                                                       now=now) is None  # fmt: skip


pytest_plugins = ["tests.scripts.providers.fixtures"]


def test_recover_without_a_deployment_says_so_and_takes_no_video(configure: Configure) -> None:
    from typer.testing import CliRunner

    from flows.cli.main import app
    from tests.factories import open_video

    configure()

    async def crashed() -> int:
        video_id = await open_video()
        async with session_scope() as session:
            await videos.set_status(session=session, video_id=video_id, status="crashed")
        return video_id

    video_id = asyncio.run(crashed())
    result = CliRunner().invoke(app, ["recover"])
    assert result.exit_code == 1
    assert "no deployment 'produce-video/produce-video'" in result.output
    assert "Traceback" not in result.output
    video = asyncio.run(_video(video_id))
    assert video.status == "crashed" and video.attempts == 0, "nothing taken, nothing lost"
