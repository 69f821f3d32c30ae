"""The pure parts of planning from a topic: the schema sent (Gemini's subset, the story
fields only), how an answer is judged, and the cost estimate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flows.core.errors import ConfigError, ManifestError
from flows.core.plan_schema import SUPPORTED_KEYWORDS, plan_json_schema
from flows.core.pricing import load_prices
from flows.planning.topic import TopicRequest, check_answer, estimate_cost
from tests.conftest import PROJECT_ROOT


def keywords(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(keywords(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for key, value in node.items():
        if key == "properties":
            found |= set().union(*(keywords(v) for v in value.values()))
        elif key in ("items", "anyOf"):
            found |= keywords(value)
    return found


def test_the_schema_keeps_to_geminis_subset_and_the_story_fields() -> None:
    schema = plan_json_schema(min_scenes=2, max_scenes=9)
    assert keywords(schema) <= SUPPORTED_KEYWORDS
    assert "propertyOrdering" not in json.dumps(schema), "that is responseSchema's keyword"
    assert list(schema["properties"]) == ["title", "project_id", "scenes"]
    scenes = schema["properties"]["scenes"]
    assert (scenes["minItems"], scenes["maxItems"]) == (2, 9)
    scene = scenes["items"]
    assert scene["additionalProperties"] is False
    assert "fit" not in scene["properties"] and "voice" not in scene["properties"]
    assert scene["properties"]["foreground"]["type"] == "string", "X-or-null became X"
    assert scene["properties"]["duration"]["minimum"] == 1


def answer(**changes: Any) -> str:
    data: dict[str, Any] = {"title": "T", "project_id": "t", "scenes": [
        {"id": "a", "title": "A", "background": "sea", "motion": "static", "duration": 30,
         "narration": "Said."},
        {"id": "b", "title": "B", "background": "sky", "motion": "static", "duration": 30,
         "narration": "Said again."},
    ]}  # fmt: skip
    data.update(changes)
    return json.dumps(data)


def test_an_answer_gets_our_fields_and_must_last_about_as_long_as_asked() -> None:
    request = TopicRequest(topic="x", minutes=1.0, voice="en-us", resolution="320x180", fps=24,
                           channel="history", fit="extend")  # fmt: skip
    plan = check_answer(answer(resolution="7680x4320"), request, source="answer 1")
    assert (plan.resolution, plan.fps, plan.voice, plan.channel, plan.fit) == (
        "320x180", 24, "en-us", "history", "extend",
    )  # fmt: skip
    too_short = r"^answer 2: the scenes last 60 seconds in all; the video should last about 90 "
    with pytest.raises(ManifestError, match=too_short + r"\(within 25%\)$"):
        check_answer(answer(), TopicRequest(topic="x", minutes=1.5), source="answer 2")
    with pytest.raises(ManifestError, match="^answer 3: a plan is a mapping"):
        check_answer("[1, 2]", request, source="answer 3")


def test_the_estimate_counts_every_try_and_needs_a_price() -> None:
    prices = load_prices(PROJECT_ROOT / "scripts" / "prices.toml")
    one, three = estimate_cost(TopicRequest(topic="x", minutes=1.5), prices)
    assert 0 < one < three < 3.5 * one
    with pytest.raises(ConfigError, match="no price for gemini gemini-2.5-flash"):
        estimate_cost(TopicRequest(topic="x", model="gemini-2.5-flash"), prices)
