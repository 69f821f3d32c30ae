"""flows.notion.cards: a card writes only what the board has, in the type it has."""

from __future__ import annotations

from flows.core.reviews import decision_text
from flows.notion.cards import (
    CardState,
    card_properties,
    cut,
    refusal_properties,
    status_filter,
)
from flows.notion.schema import BoardMap

FULL = BoardMap(
    title="Name", status="Status", status_kind="select",
    properties={
        "video_id": ("Video ID", "number"), "error": ("Error", "rich_text"),
        "cost": ("Cost", "number"), "duration": ("Duration", "number"),
        "output": ("Output", "url"), "review": ("Review", "url"),
        "channel": ("Channel", "select"), "updated": ("Updated", "date"),
    },
    options={"video_error": "Video Error", "manifest_error": "Manifest Error"},
)  # fmt: skip


def test_a_card_shows_every_field_with_long_text_cut() -> None:
    state = CardState(
        video_id=7, seq=3, title="T" * 2500, status="video_error", error="e" * 3000,
        cost_usd=1.23456, duration_s=61.04, output="/o/x.mp4", review="http://ui/runs/x",
        channel="history", updated="2026-12-04T10:00:00+00:00",
    )  # fmt: skip
    props = card_properties(state, FULL)
    assert props["Status"] == {"select": {"name": "Video Error"}}
    title = props["Name"]["title"][0]["text"]["content"]
    assert len(title) == 2000 and title.endswith("…")
    assert len(props["Error"]["rich_text"][0]["text"]["content"]) == 2000
    assert props["Cost"] == {"number": 1.2346} and props["Duration"] == {"number": 61.0}
    assert props["Video ID"] == {"number": 7}
    assert props["Output"] == {"url": "/o/x.mp4"} and props["Review"] == {"url": "http://ui/runs/x"}
    assert props["Channel"] == {"select": {"name": "history"}}
    assert props["Updated"] == {"date": {"start": "2026-12-04T10:00:00+00:00"}}


def test_a_board_with_a_title_and_a_status_gets_those_only() -> None:
    bare = BoardMap(title="Name", status="Status", status_kind="status",
                    options={"approved": "Done"})  # fmt: skip
    state = CardState(video_id=1, seq=1, title="A", status="approved", cost_usd=2.0)
    assert card_properties(state, bare) == {
        "Name": {"title": [{"type": "text", "text": {"content": "A"}}]},
        "Status": {"status": {"name": "Done"}},
    }
    assert status_filter(bare, "approved") == {"property": "Status", "status": {"equals": "Done"}}


def test_numbers_go_to_text_properties_as_text() -> None:
    text = BoardMap(title="Name", properties={"video_id": ("Video ID", "rich_text"),
                                              "cost": ("Cost", "rich_text")})  # fmt: skip
    props = card_properties(CardState(video_id=9, seq=1, title="A", status="x", cost_usd=0.5), text)
    assert props["Video ID"]["rich_text"][0]["text"]["content"] == "9"
    assert props["Cost"]["rich_text"][0]["text"]["content"] == "0.5"


def test_an_error_clears_the_error_property_and_a_refusal_says_why() -> None:
    props = card_properties(CardState(video_id=1, seq=2, title="A", status="approved"), FULL)
    assert props["Error"] == {"rich_text": []}
    refusal = refusal_properties(FULL, "scene 'x' (#1) duration: too long", "manifest_error")
    assert refusal["Status"] == {"select": {"name": "Manifest Error"}}
    assert refusal["Error"]["rich_text"][0]["text"]["content"].startswith("scene 'x'")


def test_cut_leaves_short_text_alone() -> None:
    assert cut("abc") == "abc" and cut("a" * 2000) == "a" * 2000
    assert cut("a" * 2001) == "a" * 1999 + "…"


def test_the_review_decision_is_said_in_one_line() -> None:
    assert decision_text("status", "approved", "ana", {"notes": "great pacing"}) == (
        "approved by ana: great pacing"
    )
    assert decision_text("status", "rejected", "bo", {"reason": "too dark"}) == (
        "rejected by bo: too dark"
    )
    changes = {"changes": [{"scene": "storm", "narration": "x", "background": "y"}]}
    assert decision_text("changes_requested", None, "cy", changes) == (
        "changes requested by cy: storm.narration, storm.background"
    )
    assert decision_text("status", "assembling", None, {}) is None
    state = CardState(video_id=1, seq=1, title="A", status="rejected", decision="rejected by bo")
    with_decision = BoardMap(title="Name", properties={"decision": ("Decision", "rich_text")})
    props = card_properties(state, with_decision)
    assert props["Decision"]["rich_text"][0]["text"]["content"] == "rejected by bo"
