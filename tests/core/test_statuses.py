"""The status state machine: the allowed moves, and set_status refusing the rest."""

from __future__ import annotations

import itertools

import pytest

from flows.core import videos
from flows.core.errors import StatusError
from flows.core.manifest import load_manifest
from flows.core.statuses import (
    DONE,
    FINAL,
    LIVE,
    STATUSES,
    WORKING,
    after_crash,
    check_transition,
    is_allowed,
)
from flows.core.store import session_scope
from tests.factories import TINY


def test_the_pipeline_path_is_allowed_in_order() -> None:
    path = [
        "queued", "generating_assets", "generating_composites", "generating_video",
        "generating_audio", "generating_sfx", "assembling", "awaiting_review", "approved",
    ]  # fmt: skip
    for old, new in itertools.pairwise(path):
        assert is_allowed(old, new), f"{old} → {new}"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("queued", "approved"),
        ("queued", "awaiting_review"),
        ("generating_assets", "approved"),
        ("approved", "generating_assets"),
        ("rejected", "queued"),
        ("review_expired", "approved"),
        ("video_error", "approved"),
        ("crashed", "awaiting_review"),
    ],
)
def test_moves_that_skip_the_work_or_leave_a_final_status_are_refused(old: str, new: str) -> None:
    with pytest.raises(StatusError, match=f"{old} → {new} is not allowed"):
        check_transition(old, new)


def test_an_unknown_status_is_refused_by_name() -> None:
    with pytest.raises(StatusError, match="unknown status 'totally_bogus'"):
        check_transition("queued", "totally_bogus")


def test_a_stopped_video_may_start_again_or_be_requeued_and_a_final_one_never() -> None:
    for stopped in ("video_error", "budget_exceeded", "crashed", "cancelled", "retry_scheduled"):
        assert is_allowed(stopped, "queued")
        assert all(is_allowed(stopped, w) for w in WORKING)
    for final in FINAL:
        assert not any(is_allowed(final, s) for s in STATUSES if s != final)


def test_every_live_status_can_crash_or_be_cancelled() -> None:
    for status in {"queued", "processing", "awaiting_review", *WORKING}:
        assert is_allowed(status, "crashed") and is_allowed(status, "cancelled")


async def test_set_status_refuses_a_bogus_status_and_a_skipped_step_on_both_backends(
    database_url: str,
) -> None:
    async with session_scope() as session:
        video = await videos.create_video(
            session=session, channel="c", manifest=load_manifest(TINY)
        )
    for bad in ("totally_bogus", "approved"):
        with pytest.raises(StatusError):
            async with session_scope() as session:
                await videos.set_status(session=session, video_id=video.id, status=bad)
    async with session_scope() as session:
        found = await videos.get_video(session=session, video_id=video.id)
        assert found.status == "queued", "a refused move changes nothing"
        events = await videos.list_events(session=session, video_id=video.id)
    assert [e.status for e in events] == ["queued"]


def test_an_approved_video_is_published_or_waits_or_fails_and_may_try_again() -> None:
    path = ["approved", "publishing", "publish_waiting", "publishing", "publish_error",
            "publishing", "published"]  # fmt: skip
    for old, new in itertools.pairwise(path):
        assert is_allowed(old, new), f"{old} → {new}"
    assert [s for s in STATUSES if is_allowed("approved", s) and s != "approved"] == ["publishing"]
    assert not any(is_allowed("published", s) for s in STATUSES if s != "published")
    assert not is_allowed("publish_waiting", "queued") and not is_allowed("approved", "queued")


def test_done_videos_are_decided_and_a_dead_publishing_run_waits_instead_of_crashing() -> None:
    assert {"approved", "publishing", "published", "publish_waiting", "publish_error"} <= DONE
    assert FINAL <= DONE and "approved" not in FINAL and "published" in FINAL
    assert "publishing" in LIVE  # a run holds it: a dead one is reaped
    assert after_crash("publishing", "crashed") == "publish_waiting"
    assert after_crash("generating_video", "cancelled") == "cancelled"
    assert is_allowed("publishing", after_crash("publishing", "crashed"))
