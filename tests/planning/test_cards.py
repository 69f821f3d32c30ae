"""Queued cards without a plan: an outline in the page body, or a title for Gemini, planned
and written back to the card as a YAML code block before the video is created."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from flows.core import videos
from flows.core.manifest import parse_manifest
from flows.core.store import session_scope
from flows.notion.intake import take_card
from flows.notion.plans import manifest_code, manifest_from_text
from flows.planning.cards import body_markdown, plan_blocks
from tests.conftest import PROJECT_ROOT
from tests.notion.boards import BoardChannel, drop_board_channel, save_board_channel
from tests.notion.workspace import rich
from tests.planning.fake_gemini import FakeGeminiText
from tests.planning.fake_notion import FakeNotionBodies

pytest_plugins = ["tests.notion.fixtures", "tests.planning.fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")


def block(kind: str, text: str) -> dict[str, Any]:
    return {"object": "block", "id": f"b-{abs(hash(text))}", "type": kind,
            kind: {"rich_text": rich(text)}}  # fmt: skip


OUTLINE_BODY = [
    block("paragraph", "Three scenes, for the test."),
    block("heading_2", "Spring"),
    block("paragraph", "Snow melts into a spring."),
    block("heading_2", "Sea"),
    block("quote", "background: a calm grey sea"),
    block("paragraph", "At last it rests."),
]


@pytest.fixture
async def bodies_board(notion_limits: None) -> AsyncIterator[BoardChannel]:
    fake = FakeNotionBodies().start()
    channel = await save_board_channel(fake)
    yield channel
    await drop_board_channel(channel)
    fake.stop()


def test_a_page_body_reads_as_markdown_and_a_long_plan_is_cut_into_pieces() -> None:
    assert body_markdown(OUTLINE_BODY).splitlines()[:5] == [
        "Three scenes, for the test.", "", "## Spring", "", "Snow melts into a spring.",
    ]  # fmt: skip
    blocks = plan_blocks("x" * 4500, "from a test")
    pieces = [p["text"]["content"] for p in blocks[1]["code"]["rich_text"]]
    assert [len(p) for p in pieces] == [2000, 2000, 500]


async def card_plan(board: BoardChannel, page_id: str) -> str | None:
    return manifest_code(board.fake.children.get(page_id, []))


async def test_an_outline_card_is_planned_and_shows_its_plan_before_its_video(
    configure: Any, bodies_board: BoardChannel
) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts")
    fake = bodies_board.fake
    page_id = fake.add_card("A Tiny River")
    fake.children[page_id] = list(OUTLINE_BODY)
    video_id = await take_card(fake.space.page(page_id), bodies_board.channel, bodies_board.board)
    assert video_id is not None
    shown = await card_plan(bodies_board, page_id)
    assert shown is not None and "# narration voice" in shown
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
    plan = parse_manifest(video.manifest)
    assert manifest_from_text(shown, source="card") == plan
    assert plan.title == "A Tiny River" and [s.id for s in plan.scenes] == ["spring", "sea"]
    assert plan.scenes[1].background == "a calm grey sea"
    writes = [(s.method, s.path) for s in fake.seen(method="PATCH")]
    assert writes[0] == ("PATCH", f"blocks/{page_id}/children"), "the plan is shown first"
    assert fake.value(page_id, "Status") == "Processing"


async def test_a_title_card_is_planned_by_gemini_only_with_credentials(
    configure: Any, bodies_board: BoardChannel, gemini_text: FakeGeminiText,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    configure(scripts_dir=PROJECT_ROOT / "scripts")
    fake = bodies_board.fake
    topic = fake.add_card("How rivers carve canyons")
    gemini_text.plan_seconds = 60.0
    video_id = await take_card(fake.space.page(topic), bodies_board.channel, bodies_board.board)
    assert video_id is not None and len(gemini_text.seen(method="POST")) == 1
    shown = await card_plan(bodies_board, topic)
    assert shown is not None and manifest_from_text(shown, source="card").project_id == "canyons"
    monkeypatch.delenv("REELFLOW_GEMINI_API_KEY")
    keyless = fake.add_card("Another topic")
    assert await take_card(fake.space.page(keyless), bodies_board.channel,
                           bodies_board.board) is None  # fmt: skip
    assert fake.value(keyless, "Status") == "Manifest Error"
    assert "the card has no plan" in fake.value(keyless, "Error")
    assert len(gemini_text.seen(method="POST")) == 1, "nothing was asked without a key"
