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

from blocks import Channel
from flows.core import store, videos
from flows.core.settings import Settings
from flows.core.store import session_scope
from flows.notion.intake import notion_intake, take_card
from flows.notion.plans import manifest_from_text
from flows.notion.push import push_card
from flows.review import ReviewDecision, submit_decision
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, open_video, runs_by_label, scripts_with_faults, statuses
from tests.notion.boards import (
    BoardChannel,
    drop_board_channel,
    forget_cached_blocks,
    save_board_channel,
)
from tests.notion.fake import FakeNotion
from tests.notion.workspace import notion_default_schema
from tests.test_launch import deployed_produce_video

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
                    await submit_decision(
                        video.flow_run_id, ReviewDecision(decision="approve", reviewer="tests")
                    )
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
        assert fake.value(card, "Status") == "Published"  # approved, then published
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
    outside = fake.add_card("Outside", manifest="/usr/share/plans/outside.yaml")  # not a root
    host = fake.add_card("Elsewhere", manifest="https://example.com/plan.yaml")
    secret = fake.add_card("Secret", code="title: A\nnarration: sk-CANARY-42: [\n")
    start = datetime.now(UTC)

    result = await notion_intake(channel=board_channel.channel)

    assert result == {"started": [], "runs": {}}
    assert await produce_runs_since(start) == []
    async with session_scope() as session:
        assert await videos.list_videos(session=session) == []
    for card in (bad_code, no_file, empty, outside, host, secret):
        assert fake.value(card, "Status") == "Manifest Error"
    assert fake.value(bad_code, "Error") == (
        "card 'Bad plan': scene 'storm' (#3) duration: Input should be greater than 0"
    )
    assert fake.value(no_file, "Error") == (
        f"{tmp_path / 'nowhere.yaml'}: cannot read it (No such file or directory)"
    )
    assert "the card has no plan" in fake.value(empty, "Error")
    assert "plans are read only from" in fake.value(outside, "Error")
    assert "host 'example.com' is not in the board's plan_hosts" in fake.value(host, "Error")
    assert fake.value(secret, "Error") == (
        "card 'Secret': not valid YAML: line 2, column 24: mapping values are not allowed here"
    ), "the reason never quotes the plan"
    assert await notion_intake(channel=board_channel.channel) == {"started": [], "runs": {}}
    assert len(fake.seen("PATCH")) == 6, "a refused card is not queued any more"


async def test_on_a_board_with_notions_own_status_a_card_without_a_plan_is_left_alone(
    settings: Settings, notion_limits: None, tmp_path: Path
) -> None:
    """Our "queued" shows as Notion's "Not started" there, which people use for their own
    cards: only a card that names a plan is a request."""
    fake = FakeNotion(schema=notion_default_schema()).start()
    channel = await save_board_channel(fake)
    try:
        person = fake.add_card("Buy a tripod", status="Not started")
        broken = fake.add_card("Broken", status="Not started", code="title: [\n")
        assert await notion_intake(channel=channel.channel) == {"started": [], "runs": {}}
        assert fake.value(person, "Status") == "Not started" and not fake.written_statuses(person)
        assert fake.written_statuses(broken), "a card naming a plan is refused as before"
    finally:
        await drop_board_channel(channel)
        fake.stop()


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


# --- cards put back to "Queued" ------------------------------------------------------------


def set_by_hand(fake: FakeNotion, page_id: str, option: str) -> None:
    """A person sets the card's status option in Notion."""
    fake.pages[page_id]["properties"]["Status"] = {
        "id": "stat", "type": "status", "status": {"id": "x", "name": option, "color": "default"},
    }  # fmt: skip


async def until_card_current(video_id: int, timeout: float = 30) -> None:
    """Until the video's card shows its newest status."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with session_scope() as session:
            video = await videos.get_video(session=session, video_id=video_id)
        if video.notion_synced_seq >= video.status_seq and video.notion_lease is None:
            return
        assert asyncio.get_running_loop().time() < deadline, f"video {video_id}'s card is behind"
        await asyncio.sleep(0.2)


@pytest.fixture
def storm_sfx_fails_once(configure: Configure, tmp_path: Path) -> Settings:
    """The project's scripts, but the storm scene's sound effect fails (permanently) once."""
    faults = {"generate_sfx": [{"match": "/sfx/storm", "times": 1}]}
    return configure(scripts_dir=scripts_with_faults(tmp_path, faults), retry_delay_seconds="0.05")


async def test_a_failed_video_put_back_to_queued_resumes_and_redoes_only_what_had_failed(
    storm_sfx_fails_once: Settings, board_channel: BoardChannel, approver: set[int]
) -> None:
    fake = board_channel.fake
    card = fake.add_card("Coast", code=plan_text("coast"))
    first = await notion_intake(channel=board_channel.channel)
    [video_id] = first["started"]
    assert first["runs"] == {video_id: "failed"}
    await until_card_current(video_id)
    assert fake.value(card, "Status") == "SFX Error"
    ran, completed = await runs_by_label(), await runs_by_label("completed")
    assert completed and "sfx/storm" not in completed
    set_by_hand(fake, card, "Queued")

    second = await notion_intake(channel=board_channel.channel)

    assert second == {"started": [video_id], "runs": {video_id: "finished"}}
    async with session_scope() as session:
        made = await videos.list_videos(session=session)
        events = await videos.list_events(session=session, video_id=video_id)
    assert [v.id for v, _ in made] == [video_id], "the same video, no new one"
    again = await runs_by_label() - ran
    assert not set(again) & set(completed), f"finished items ran again: {again}"
    assert again["sfx/storm"] == 1 and again["assembly/final"] == 1
    moves = await statuses(video_id)
    assert moves[moves.index("sfx_error") :][:3] == ["sfx_error", "queued", "processing"]
    assert moves[-3:] == ["approved", "publishing", "published"] and video_id in approver
    assert [e.actor for e in events if e.status == "queued"][-1] == "notion intake"
    await until_card_current(video_id)
    written = fake.written_statuses(card)
    assert written[written.index("SFX Error") + 1] == "Processing"
    assert fake.value(card, "Status") == "Published" and fake.value(card, "Error") == ""


async def video_of_card(channel: BoardChannel, card: str, moves: list[str]) -> int:
    """A video made from ``card``, moved through ``moves``; its card shows the last one."""
    plan = manifest_from_text(plan_text("busy"), source="test")
    async with session_scope() as session:
        video = await videos.create_video(
            session=session, channel=channel.channel, manifest=plan, notion_page_id=card
        )
        for status in moves:
            await videos.set_status(session=session, video_id=video.id, status=status)
        video_id = video.id
    assert await push_card(video_id, channel.board) == "synced"
    return video_id


@pytest.mark.parametrize(
    ("moves", "option", "why"),
    [
        (["generating_video"], "Generating Video",
         "video {id} is already being produced (generating_video)"),
        (["assembling", "awaiting_review"], "Awaiting Review",
         "video {id} is waiting for its review: approve, reject or request changes"),
        (["assembling", "awaiting_review", "approved"], "Approved",
         "video {id} is finished (approved) and is not made again: a new card makes a new video"),
    ],
)  # fmt: skip
async def test_a_live_or_final_video_put_back_to_queued_keeps_its_status_and_the_card_says_why(
    settings: Settings, board_channel: BoardChannel, moves: list[str], option: str, why: str
) -> None:
    fake = board_channel.fake
    card = fake.add_card("Busy", code=plan_text("busy"))
    video_id = await video_of_card(board_channel, card, moves)
    assert fake.value(card, "Status") == option
    set_by_hand(fake, card, "Queued")
    async with session_scope() as session:
        seq = (await videos.get_video(session=session, video_id=video_id)).status_seq
    start = datetime.now(UTC)

    assert await notion_intake(channel=board_channel.channel) == {"started": [], "runs": {}}

    assert fake.value(card, "Status") == option
    assert fake.value(card, "Error") == why.format(id=video_id)
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
    assert (video.status, video.status_seq, video.notion_lease) == (moves[-1], seq, None)
    assert await produce_runs_since(start) == []
    patches = len(fake.seen("PATCH"))
    assert await notion_intake(channel=board_channel.channel) == {"started": [], "runs": {}}
    assert len(fake.seen("PATCH")) == patches, "the card is not queued any more"


async def test_a_card_whose_project_already_has_an_unfinished_video_is_refused(
    settings: Settings, board_channel: BoardChannel
) -> None:
    fake = board_channel.fake
    channel = board_channel.channel
    other = await open_video(manifest_from_text(plan_text("coast"), source="test"), channel)
    card = fake.add_card("Coast again", code=plan_text("coast"))

    assert await notion_intake(channel=channel) == {"started": [], "runs": {}}

    assert fake.value(card, "Status") == "Manifest Error"
    assert fake.value(card, "Error") == (
        f"channel {channel!r} already has an unfinished video of 'coast': video {other} "
        "(queued): resume or finish it first"
    )
    async with session_scope() as session:
        assert [v.id for v, _ in await videos.list_videos(session=session)] == [other]


async def test_intake_through_the_deployment_starts_each_video_in_its_channel_queue(
    settings: Settings, board_channel: BoardChannel
) -> None:
    channel = board_channel.channel
    await Channel(notion_board=board_channel.board, max_concurrent_videos=2).asave(
        channel, overwrite=True
    )
    forget_cached_blocks()
    card = board_channel.fake.add_card("Deployed", code=plan_text("deployed"))
    async with deployed_produce_video() as deployed:
        result = await notion_intake(channel=channel, deployment=deployed.name, start="deployment")
        [video_id] = result["started"]
        async with get_client() as client:
            run = await client.read_flow_run(UUID(result["runs"][video_id]))
            queue = await client.read_work_queue_by_name(
                f"channel-{channel}", work_pool_name=deployed.pool
            )
    assert run.work_queue_name == f"channel-{channel}", "not the deployment's default queue"
    assert (run.deployment_id, run.parameters) == (deployed.id, {"video_id": video_id})
    assert queue.concurrency_limit == 2
    assert board_channel.fake.value(card, "Status") == "Processing"
