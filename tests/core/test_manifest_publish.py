"""The plan's publish: section and the video resource built from it: YouTube's limits are
refused in one line naming the field, before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.core.errors import ManifestError, PublishError
from flows.core.manifest import load_manifest, parse_manifest
from flows.core.publishing import PublisherConfig, video_resource
from tests.factories import TINY

CONFIG = PublisherConfig(channel="c", publisher="youtube", output_root=Path("/tmp"))


def _plan(**publish: Any) -> Any:
    data = load_manifest(TINY).model_dump(mode="json")
    return parse_manifest({**data, "publish": publish})


@pytest.mark.parametrize(
    ("publish", "said"),
    [
        ({"title": "x" * 101}, "publish.title: is 101 characters; YouTube takes at most 100"),
        ({"title": "a <b>"}, "publish.title: must not contain < or >"),
        (
            {"description": "é" * 2501},
            "publish.description: is 5002 bytes; YouTube takes at most 5000",
        ),
        ({"tags": ["a" * 300, "b" * 300]}, "publish.tags: are 601 characters"),
        (
            {"publish_at": "2026-12-24T09:00:00Z", "privacy": "public"},
            "publish_at needs privacy: private",
        ),
        ({"publish_at": "tomorrow"}, "publish.publish_at: write an ISO 8601 time"),
        (
            {"privacy": "secret"},
            "publish.privacy: Input should be 'public', 'unlisted' or 'private'",
        ),
    ],
)
def test_limits_are_refused_when_the_plan_is_read(publish: dict[str, Any], said: str) -> None:
    with pytest.raises(ManifestError, match=None) as caught:
        _plan(**publish)
    assert said in str(caught.value)


def test_the_resource_takes_the_plan_and_the_channel_defaults() -> None:
    resource = video_resource(_plan(description="A film.", tags=["sea", "dawn light"]), CONFIG)
    assert resource["snippet"] == {"title": "Tiny Test Film", "description": "A film.",
                                   "tags": ["sea", "dawn light"], "categoryId": "22"}  # fmt: skip
    assert resource["status"] == {"privacyStatus": "private", "selfDeclaredMadeForKids": False,
                                  "containsSyntheticMedia": True}  # fmt: skip
    scheduled = video_resource(
        _plan(publish_at="2026-12-24T09:00:00Z", synthetic_media=False), CONFIG
    )
    assert scheduled["status"]["publishAt"] == "2026-12-24T09:00:00Z"
    assert scheduled["status"]["containsSyntheticMedia"] is False


def test_a_long_plan_title_or_a_public_channel_with_a_schedule_is_refused_at_publish() -> None:
    data = load_manifest(TINY).model_dump(mode="json")
    with pytest.raises(PublishError, match="publish.title: is 120 characters"):
        video_resource(parse_manifest({**data, "title": "t" * 120}), CONFIG)
    public = PublisherConfig(channel="c", publisher="youtube", output_root=Path("/tmp"),
                             privacy="public")  # fmt: skip
    with pytest.raises(PublishError, match="schedules only private videos"):
        video_resource(_plan(publish_at="2026-12-24T09:00:00Z"), public)
