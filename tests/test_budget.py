"""Budgets: a step that would pass the video's budget stops before anything is spent."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from flows.budget import check_budget
from flows.core import videos
from flows.core.channel import ChannelConfig
from flows.core.errors import BudgetExceeded, StepError
from flows.core.manifest import load_manifest
from flows.core.settings import Settings
from flows.core.steps import VideoPaths, plan_items
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, open_video, produce, runs_by_label, statuses
from tests.scripts.providers.fakes import PAID, ChannelMaker, Fakes

pytest_plugins = ["tests.scripts.providers.fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")

NARRATION = ("The day begins by the sea.", "Deep in the forest, birds sing.",
             "Then the storm arrives.")  # fmt: skip
REST = 3 * 5 * 0.042 + sum(map(len, NARRATION)) * 0.10 / 1000 + 5.0 * 0.0025  # after assets


@pytest.fixture
def paid_settings(configure: Configure, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REELFLOW_KLING_POLL_SECONDS", "0.05")
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


async def _video(video_id: int) -> videos.Video:
    async with session_scope() as session:
        return await videos.get_video(session=session, video_id=video_id)


async def test_allow_partial_stops_before_a_step_over_budget_and_a_higher_budget_resumes(
    paid_settings: Settings, fakes: Fakes, paid_channel: ChannelMaker
) -> None:
    from flows.pipeline import produce_video

    channel = await paid_channel(budget=0.5)
    with pytest.raises(BudgetExceeded) as stopped:
        await produce(channel=channel, flow=functools.partial(produce_video, allow_partial=True))
    async with session_scope() as session:
        video = (await videos.list_videos(session=session))[0][0]
        events = await videos.list_events(session=session, video_id=video.id)
    spent = video.cost_usd
    assert 0.19 < spent < 0.2, "the assets were made and paid for"
    assert video.status == "budget_exceeded" and video.error == str(stopped.value)
    assert video.error == (
        f"video would cost about $0.63 on top of ${spent:.2f} spent, "
        f"${spent + 0.63 - 0.5:.2f} over the $0.50 budget"
    )
    assert (await statuses(video.id))[-2:] == ["generating_composites", "budget_exceeded"]
    assert events[-1].detail == {
        "error": video.error, "step": "video", "spent_usd": spent, "estimate_usd": 0.63,
        "budget_usd": 0.5, "over_usd": round(spent + 0.63 - 0.5, 6),
    }  # fmt: skip
    assert fakes.kling.seen() == [] and fakes.elevenlabs.seen() == [], "nothing more was asked"
    assert fakes.paid() == 5 and set(await runs_by_label()) == {
        "assets/dawn/background", "assets/dawn/foreground", "assets/forest/background",
        "assets/storm/background", "assets/storm/foreground",
        "composites/dawn", "composites/forest", "composites/storm",
    }  # fmt: skip

    # The assets are in the cache now: they cost nothing, even on a budget with no room.
    plan = load_manifest(TINY)
    paths = VideoPaths.for_video(paid_settings.output_dir, channel, plan.project_id)
    assets = plan_items(plan, "assets", paths, PAID)
    config = ChannelConfig(name=channel, output_root=paid_settings.output_dir)
    await check_budget(video.id, "assets", assets, config, spent + 0.001)
    assert (await _video(video.id)).status == "budget_exceeded", "unchanged: it passed"

    # Enough for the rest, not for paying the (cached) assets a second time.
    budget = round(spent + REST + 0.05, 6)
    assert budget < spent + 5 * 0.039 + REST
    result = await produce(
        channel=channel, flow=functools.partial(produce_video, budget_usd=budget)
    )
    finished = await _video(result["video_id"])
    assert finished.id == video.id and finished.status == "published"  # approved, published
    assert len(fakes.gemini.seen("POST")) == 5, "the assets came from the cache"
    assert finished.cost_usd == pytest.approx(spent + REST), "and were not paid or counted again"


async def test_a_budget_met_exactly_passes_and_a_cent_less_stops(paid_settings: Settings) -> None:
    plan = load_manifest(TINY)
    video_id = await open_video(plan, "budget-test")
    async with session_scope() as session:
        (await videos.get_video(session=session, video_id=video_id)).cost_usd = 0.37
    paths = VideoPaths.for_video(paid_settings.output_dir, "budget-test", plan.project_id)
    items = plan_items(plan, "video", paths, {"video": "kling"})
    config = ChannelConfig(name="budget-test", output_root=paid_settings.output_dir)
    await check_budget(video_id, "video", items, config, 1.0)
    await check_budget(video_id, "video", items, config, None)
    assert (await _video(video_id)).status == "queued"
    with pytest.raises(BudgetExceeded, match=r"\$0.01 over the \$0.99 budget"):
        await check_budget(video_id, "video", items, config, 0.99)
    assert (await _video(video_id)).status == "budget_exceeded"


async def test_local_steps_cost_nothing_even_on_a_zero_budget(paid_settings: Settings) -> None:
    plan = load_manifest(TINY)
    video_id = await open_video(plan, "budget-test")
    paths = VideoPaths.for_video(Path("/nowhere"), "budget-test", plan.project_id)
    config = ChannelConfig(name="budget-test", output_root=Path("/nowhere"))
    for step in ("assets", "video", "narration"):
        await check_budget(video_id, step, plan_items(plan, step, paths, {}), config, 0.0)
    assert (await _video(video_id)).status == "queued"


async def test_an_unpriced_model_fails_its_step_before_anything_runs(
    paid_settings: Settings,
) -> None:
    plan = load_manifest(TINY)
    video_id = await open_video(plan, "budget-test")
    paths = VideoPaths.for_video(paid_settings.output_dir, "budget-test", plan.project_id)
    items = plan_items(plan, "video", paths, {"video": "kling"}, {"video": "kling-v9"})
    config = ChannelConfig(name="budget-test", output_root=paid_settings.output_dir)
    with pytest.raises(StepError, match="no price for kling kling-v9 std"):
        await check_budget(video_id, "video", items, config, 100.0)
    video = await _video(video_id)
    assert video.status == "video_error" and "kling-v9" in (video.error or "")
