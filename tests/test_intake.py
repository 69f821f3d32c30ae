"""notion_intake: queued cards on the fake board become videos, each exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterStartTime,
)

from flows.core import store, videos
from flows.core.settings import Settings
from flows.core.store import session_scope
from flows.intake import notion_intake, take_card
from flows.review import ReviewDecision, submit_decision
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY
from tests.notion.boards import BoardChannel

pytest_plugins = ["tests.notion.fixtures"]


@pytest.fixture
def pipeline_settings(configure: Configure) -> Settings:
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


def plan_text(project_id: str) -> str:
    data = yaml.safe_load(TINY.read_text())
    data["project_id"] = project_id
    return yaml.safe_dump(data)


@pytest.fixture
async def approver() -> AsyncIterator[set[int]]:
    """Approves every video that waits at its review gate (ids of those approved)."""
    approved: set[int] = set()

    async def loop() -> None:
        while True:
            async with session_scope() as session:
                waiting = await videos.list_videos(session=session, status="awaiting_review")
            for video, _ in waiting:
                if video.id in approved or not video.flow_run_id:
                    continue
                async with get_client() as client:
                    run = await client.read_flow_run(UUID(video.flow_run_id))
                if run.state is not None and run.state.is_paused():
                    await submit_decision(video.flow_run_id, ReviewDecision(reviewer="tests"))
                    approved.add(video.id)
            await asyncio.sleep(0.2)

    task = asyncio.create_task(loop())
    yield approved
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def produce_runs_since(start: datetime) -> list[int]:
    """The video id of every produce-video flow run started since ``start``."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["produce-video"])),
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=start)),
        )
    return sorted(int(run.parameters["video_id"]) for run in runs)


async def test_two_intakes_at_once_start_each_queued_card_once(
    pipeline_settings: Settings, board_channel: BoardChannel, approver: set[int], tmp_path: Path
) -> None:
    fake = board_channel.fake
    fake.max_page_size = 1  # every query result is paged
    plan = tmp_path / "coast.yaml"
    plan.write_text(plan_text("coast"))
    by_path = fake.add_card("Coast", manifest=str(plan))
    by_code = fake.add_card("Forest", code=plan_text("forest"))
    done = fake.add_card("Old one", status="Approved", manifest=str(plan))
    start = datetime.now(UTC)

    first, second = await asyncio.gather(
        notion_intake(channel=board_channel.channel), notion_intake(channel=board_channel.channel)
    )
    started = sorted(first["started"] + second["started"])
    async with session_scope() as session:
        made = {v.notion_page_id: v for v, _ in await videos.list_videos(session=session)}
    assert set(made) == {by_path, by_code}
    assert started == sorted(v.id for v in made.values()), "each card started by one intake"
    assert await produce_runs_since(start) == started, "one produce-video run per card"
    assert approver == set(started)
    assert made[by_path].manifest_source == str(plan) and made[by_path].project_id == "coast"
    assert made[by_code].manifest_source == f"notion:{by_code}"
    for card in (by_path, by_code):
        assert fake.value(card, "Status") == "Approved"
        statuses = fake.written_statuses(card)
        assert statuses[0] == "Processing" and statuses.count("Processing") == 1
    assert fake.value(done, "Status") == "Approved" and not fake.written_statuses(done)
    assert fake.peak(1.0) <= 3


async def test_a_card_without_a_valid_plan_gets_the_error_and_nothing_starts(
    settings: Settings, board_channel: BoardChannel, tmp_path: Path
) -> None:
    fake = board_channel.fake
    broken = plan_text("broken").replace("duration: 2\n", "duration: -1\n")
    bad_code = fake.add_card("Bad plan", code=broken)
    no_file = fake.add_card("Missing file", manifest=str(tmp_path / "nowhere.yaml"))
    empty = fake.add_card("No plan")
    start = datetime.now(UTC)

    result = await notion_intake(channel=board_channel.channel)

    assert result == {"started": [], "runs": {}}
    assert await produce_runs_since(start) == []
    async with session_scope() as session:
        assert await videos.list_videos(session=session) == []
    for card in (bad_code, no_file, empty):
        assert fake.value(card, "Status") == "Manifest Error"
    assert fake.value(bad_code, "Error") == (
        "card 'Bad plan': scene 'storm' (#3) duration: Input should be greater than 0"
    )
    assert fake.value(no_file, "Error").startswith(f"cannot read {tmp_path / 'nowhere.yaml'}")
    assert "the card has no plan" in fake.value(empty, "Error")
    assert await notion_intake(channel=board_channel.channel) == {"started": [], "runs": {}}
    assert len(fake.seen("PATCH")) == 3, "a refused card is not queued any more"


async def test_a_card_taken_by_two_intakes_at_the_same_moment_makes_one_video(
    database_url: str, board_channel: BoardChannel
) -> None:
    fake = board_channel.fake
    card = fake.pages[fake.add_card("Coast", code=plan_text("coast"))]
    await store.ping()  # a fresh SQLite file is migrated on first use, before the race
    taken = await asyncio.gather(
        *(take_card.fn(card, board_channel.channel, board_channel.board) for _ in range(2))
    )
    async with session_scope() as session:
        made = await videos.list_videos(session=session)
    assert [v.notion_page_id for v, _ in made] == [card["id"]], "the page id is UNIQUE"
    assert sorted(taken, key=str) == [made[0][0].id, None]
    assert made[0][0].status == "processing"
    assert fake.value(card["id"], "Status") == "Processing"
