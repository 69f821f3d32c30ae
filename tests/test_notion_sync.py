"""Status sync to a Notion board: the tiny pipeline and the sync itself against the fake Notion."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.core import videos
from flows.core.manifest import load_manifest
from flows.core.models import utcnow
from flows.core.settings import Settings
from flows.core.store import session_scope
from flows.notion import records as cards
from flows.notion.push import push_card
from flows.notion.reconcile import notion_reconcile
from flows.status import change_status
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, open_video, produce
from tests.notion.boards import BoardChannel, drop_board_channel, save_board_channel
from tests.notion.fake import FakeNotion

pytest_plugins = ["tests.notion.fixtures"]

BOARD_ORDER = [
    "Queued", "Processing", "Generating Assets", "Generating Composites", "Generating Video",
    "Generating Audio", "Generating SFX", "Assembling", "Awaiting Review", "Approved",
    "Publishing", "Published",
]  # fmt: skip
OURS = {
    "generating_assets": "Generating Assets", "generating_composites": "Generating Composites",
    "generating_video": "Generating Video", "generating_audio": "Generating Audio",
    "generating_sfx": "Generating SFX", "assembling": "Assembling",
    "awaiting_review": "Awaiting Review", "approved": "Approved",
    "publishing": "Publishing", "published": "Published",
}  # fmt: skip


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in self.records)


@pytest.fixture
def logs() -> Iterator[Records]:
    """Every log record of Prefect's run loggers and ours (pytest's logging plugin is off)."""
    records = Records()
    names = ["", "prefect", "prefect.flow_runs", "prefect.task_runs", "reelflow"]
    for name in names:
        logging.getLogger(name).addHandler(records)
    yield records
    for name in names:
        logging.getLogger(name).removeHandler(records)


@pytest.fixture
def pipeline_settings(configure: Configure) -> Settings:
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


def stored_bytes(settings: Settings) -> bytes:
    """Everything the SQLite database holds on disk (the file and its write-ahead log)."""
    path = Path(settings.database_url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


async def get(video_id: int) -> videos.Video:
    async with session_scope() as session:
        return await videos.get_video(session=session, video_id=video_id)


async def test_statuses_reach_the_board_in_order_within_seconds_at_most_three_a_second(
    pipeline_settings: Settings, board_channel: BoardChannel, logs: Records
) -> None:
    fake = board_channel.fake
    result = await produce(channel=board_channel.channel)
    video = await get(result["video_id"])
    written = fake.written_statuses()
    assert fake.cards() == [video.notion_page_id], "one card, made once"
    assert written[-1] == "Published"  # approved, then published (flows/publish)
    assert [BOARD_ORDER.index(s) for s in written] == sorted(BOARD_ORDER.index(s) for s in written)
    assert fake.peak(1.0) <= 3 and not fake.seen(status=429)
    assert video.notion_synced_seq == video.status_seq and video.notion_error is None
    assert fake.value(video.notion_page_id, "Video ID") == video.id
    assert fake.value(video.notion_page_id, "Output") == video.public_url  # once published
    async with session_scope() as session:
        events = await videos.list_events(session=session, video_id=video.id)
    writes = [(s.wall, BOARD_ORDER.index(s.body["properties"]["Status"]["status"]["name"]))
              for s in fake.seen(status=200) if s.body and "properties" in s.body]  # fmt: skip
    for event in events:
        if event.status in OURS:
            shown = min(w for w, i in writes if i >= BOARD_ORDER.index(OURS[event.status]))
            assert shown - event.created_at.timestamp() < 5.0, f"{event.status} reached late"
    assert fake.token not in logs.text()
    assert fake.token.encode() not in stored_bytes(pipeline_settings)


async def test_a_429_storm_delays_the_board_but_not_the_pipeline(
    pipeline_settings: Settings, board_channel: BoardChannel
) -> None:
    fake = board_channel.fake
    fake.fail(429, times=1000, retry_after=90)
    started = time.monotonic()
    result = await produce(channel=board_channel.channel)
    assert time.monotonic() - started < 60, "nobody waited out the 90 s Retry-After"
    assert len(fake.seen()) == 1, "one 429, then the board is left alone until it may be written"
    async with session_scope() as session:
        state = await cards.get_board_state(session=session, name=board_channel.board)
    assert state.blocked_until is not None
    assert timedelta(seconds=60) < state.blocked_until - utcnow() < timedelta(seconds=91)
    assert await notion_reconcile(channel=board_channel.channel) == {"blocked": 1}
    assert len(fake.seen()) == 1

    fake.faults.clear()
    async with session_scope() as session:  # 90 seconds pass
        state = await cards.get_board_state(session=session, name=board_channel.board)
        state.blocked_until = utcnow() - timedelta(seconds=1)
    assert await notion_reconcile(channel=board_channel.channel) == {"synced": 1}
    video = await get(result["video_id"])
    assert video.status == "published"  # approved, then published (flows/publish)
    assert fake.value(video.notion_page_id, "Status") == "Published"


async def test_a_503_burst_delays_the_board_but_not_the_pipeline(
    pipeline_settings: Settings, board_channel: BoardChannel
) -> None:
    fake = board_channel.fake
    fake.fail(503, times=6)
    result = await produce(channel=board_channel.channel)
    failures = fake.seen(status=503)
    assert len(failures) == 6
    async with session_scope() as session:
        events = await videos.list_events(session=session, video_id=result["video_id"])
    during = [e for e in events if failures[0].wall < e.created_at.timestamp() < failures[-1].wall]
    assert during, "the pipeline moved on while the board was being retried"
    video = await get(result["video_id"])
    if video.notion_synced_seq < video.status_seq:  # not landed in the run's final wait
        await notion_reconcile(channel=board_channel.channel)
    assert fake.value((await get(video.id)).notion_page_id, "Status") == "Published"
    assert fake.peak(1.0) <= 3 and len(fake.cards()) == 1


async def test_a_401_is_reported_once_and_the_video_still_completes(
    pipeline_settings: Settings, notion_limits: None, fake_notion: FakeNotion, logs: Records
) -> None:
    wrong = "secret_WRONG-canary-token-0042"
    channel = await save_board_channel(fake_notion, token=wrong)
    try:
        result = await produce(channel=channel.channel)
    finally:
        await drop_board_channel(channel)
    video = await get(result["video_id"])
    assert video.status == "published"
    assert [s.status for s in fake_notion.seen()] == [401], "one request, not retried"
    assert video.notion_error == "Notion 401 unauthorized: API token is invalid."
    refused = [r for r in logs.records if "API token is invalid" in r.getMessage()]
    assert len({id(r) for r in refused}) == 1, "logged once (a record reaches several loggers)"
    assert refused[0].levelno == logging.WARNING
    assert wrong not in logs.text() and wrong.encode() not in stored_bytes(pipeline_settings)


async def test_reconcile_pushes_every_video_whose_card_is_behind(
    settings: Settings, board_channel: BoardChannel
) -> None:
    fake, name = board_channel.fake, board_channel.channel
    plan = load_manifest(TINY)
    shown = await open_video(plan, name)
    await change_status(shown, "generating_assets")  # outside a run: pushed inline
    card = (await get(shown)).notion_page_id
    assert card and fake.value(card, "Status") == "Generating Assets"
    unseen = await open_video(plan.model_copy(update={"project_id": "second"}), name)
    refused = await open_video(plan.model_copy(update={"project_id": "third"}), name)
    elsewhere = await open_video(plan, "no-board")
    async with session_scope() as session:  # changes the board never heard of (a crash)
        for video_id in (shown, unseen, refused, elsewhere):
            await videos.set_status(session=session, video_id=video_id, status="crashed")
        await cards.mark_notion_error(session=session, video_id=refused, message="Notion 500")
    assert await notion_reconcile() == {"synced": 3}
    for video_id in (shown, unseen, refused):
        video = await get(video_id)
        assert video.notion_synced_seq == video.status_seq and video.notion_error is None
        assert fake.value(video.notion_page_id, "Status") == "Crashed"
    assert len(fake.cards()) == 3
    assert (await get(elsewhere)).notion_synced_seq == 0
    assert await notion_reconcile() == {}


async def test_an_older_status_never_overwrites_a_newer_one(
    settings: Settings, board_channel: BoardChannel
) -> None:
    fake = board_channel.fake
    fake.latency = 0.3
    video_id = await open_video(channel=board_channel.channel)

    async def moved_to(status: str) -> asyncio.Task[str]:
        async with session_scope() as session:
            await videos.set_status(session=session, video_id=video_id, status=status)
        return asyncio.create_task(push_card(video_id, board_channel.board))

    first = await moved_to("generating_assets")
    await asyncio.sleep(0.5)  # its card is being made, slowly
    later = [await moved_to(s) for s in ("generating_video", "assembling", "awaiting_review")]
    outcomes = await asyncio.gather(first, *later)
    assert outcomes == ["synced", "coalesced", "coalesced", "coalesced"]
    video = await get(video_id)
    assert fake.value(video.notion_page_id, "Status") == "Awaiting Review"
    written = fake.written_statuses()
    assert written[0] == "Generating Assets" and written[-1] == "Awaiting Review"
    assert [BOARD_ORDER.index(s) for s in written] == sorted(BOARD_ORDER.index(s) for s in written)
    assert video.notion_synced_seq == video.status_seq


async def test_text_longer_than_notions_limit_is_cut_not_refused(
    settings: Settings, board_channel: BoardChannel
) -> None:
    video_id = await open_video(channel=board_channel.channel)
    async with session_scope() as session:
        await videos.set_status(
            session=session, video_id=video_id, status="video_error", error="x" * 5000
        )
    assert await push_card(video_id, board_channel.board) == "synced"
    error = board_channel.fake.value((await get(video_id)).notion_page_id, "Error")
    assert len(error) == 2000 and error.endswith("…")


async def test_a_card_whose_create_answer_was_lost_is_found_not_made_twice(
    settings: Settings, board_channel: BoardChannel
) -> None:
    fake = board_channel.fake
    fake.fail(502, after=True, request="POST pages")  # the card is made, its answer lost
    video_id = await open_video(channel=board_channel.channel)
    async with session_scope() as session:
        await videos.set_status(session=session, video_id=video_id, status="generating_assets")
    assert await push_card(video_id, board_channel.board) == "synced"
    video = await get(video_id)
    assert fake.cards() == [video.notion_page_id] and video.notion_create_sent_at is None
    assert [(s.method, s.path.split("/")[0], s.status) for s in fake.seen()] == [
        ("GET", "databases", 200), ("GET", "data_sources", 200),  # the source, its schema
        ("POST", "pages", 502), ("POST", "data_sources", 200),  # lost; found by its Video ID
    ]  # fmt: skip
    assert fake.value(video.notion_page_id, "Status") == "Generating Assets"


async def test_one_sync_holds_a_videos_lease_until_its_card_is_current(database_url: str) -> None:
    video_id = await open_video()
    async with session_scope() as session:
        assert await cards.claim_notion_lease(
            session=session, video_id=video_id, owner="a", seconds=60
        )
        assert not await cards.claim_notion_lease(
            session=session, video_id=video_id, owner="b", seconds=60
        )
        assert not await cards.release_notion_lease(session=session, video_id=video_id, owner="a")
        await cards.mark_notion_synced(session=session, video_id=video_id, seq=1, page_id="p1")
        assert await cards.release_notion_lease(session=session, video_id=video_id, owner="a")
        assert await cards.claim_notion_lease(
            session=session, video_id=video_id, owner="b", seconds=-1
        )
        assert await cards.claim_notion_lease(
            session=session, video_id=video_id, owner="c", seconds=60
        ), "an expired lease is taken over"
        await cards.mark_notion_synced(session=session, video_id=video_id, seq=0)
    video = await get(video_id)
    assert (video.notion_synced_seq, video.notion_page_id, video.notion_lease) == (1, "p1", "c")


# --- a board that changes under a run -----------------------------------------------------------


async def _until(done: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_property_renamed_mid_run_is_read_again_and_the_run_fills_the_rest(
    pipeline_settings: Settings, board_channel: BoardChannel, logs: Records
) -> None:
    fake = board_channel.fake

    async def rename() -> None:
        await _until(lambda: "Generating Assets" in fake.written_statuses())
        fake.rename_property("Duration", "Length")

    renamer = asyncio.create_task(rename())
    result = await produce(channel=board_channel.channel)
    await renamer
    video = await get(result["video_id"])
    assert video.notion_error is None and video.notion_synced_seq == video.status_seq
    assert fake.value(video.notion_page_id, "Status") == "Published"  # approved, published
    assert fake.seen("PATCH", status=400), "one write met the renamed property"
    warned = {r.getMessage() for r in logs.records if "not shown on its cards" in r.getMessage()}
    assert warned == {
        f"board {board_channel.board}: not shown on its cards (no such property): Duration "
        f"(number); `reelflow notion check --fix --board {board_channel.board}` adds them"
    }, "one warning, naming the board, what is missing and the command"


@pytest.mark.parametrize(
    ("break_it", "mend_it", "why"),
    [
        (FakeNotion.unshare, lambda f: setattr(f.space.databases[f.database_id], "shared", True),
         "is not found or not shared with the integration"),
        (FakeNotion.delete_board, FakeNotion.restore_board,
         "is not found or not shared with the integration"),
    ],
)  # fmt: skip
async def test_a_board_unshared_or_deleted_mid_run_says_so_once_and_reconcile_heals_it(
    settings: Settings, board_channel: BoardChannel, logs: Records,
    break_it: Any, mend_it: Any, why: str,
) -> None:  # fmt: skip
    fake = board_channel.fake
    video_id = await open_video(channel=board_channel.channel)
    await change_status(video_id, "generating_assets")
    break_it(fake)
    for status in ("generating_composites", "generating_video"):
        await change_status(video_id, status)
    video = await get(video_id)
    assert video.notion_error is not None and video.status == "generating_video"
    lines = [r.getMessage() for r in logs.records if "refused its card" in r.getMessage()]
    assert len(set(lines)) == 1, "one line, however many changes follow"
    assert f"board {board_channel.board} refused its card" in lines[0]
    assert why in lines[0] and "reelflow notion reconcile" in lines[0]
    mend_it(fake)
    assert await notion_reconcile(channel=board_channel.channel) == {"synced": 1}
    assert fake.value(video.notion_page_id, "Status") == "Generating Video"
