"""One live run per video (the lease on its row), and one unfinished video per plan."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from flows.core import recovery, runs, videos
from flows.core.errors import VideoBusy
from flows.core.manifest import load_manifest
from flows.core.models import utcnow
from flows.core.store import session_scope
from tests.factories import TINY


async def _video() -> int:
    async with session_scope() as session:
        video = await videos.open_video(session=session, channel="c", manifest=load_manifest(TINY))
        return video.id


async def _claim(video_id: int, holder: str, lease_s: float = 60.0) -> str:
    try:
        async with session_scope() as session:
            await runs.claim_run(session=session, video_id=video_id, holder=holder, lease_s=lease_s)
    except VideoBusy as exc:
        return f"busy: {exc}"
    return "taken"


async def test_of_many_runs_claiming_one_video_at_once_exactly_one_wins(database_url: str) -> None:
    video_id = await _video()
    outcomes = await asyncio.gather(*(_claim(video_id, f"run-{i}") for i in range(8)))
    assert outcomes.count("taken") == 1, outcomes
    busy = [o for o in outcomes if o != "taken"]
    assert all("is being produced by run run-" in o and " since " in o for o in busy)


async def test_the_holder_may_claim_again_and_others_may_once_it_lets_go(
    database_url: str,
) -> None:
    video_id = await _video()
    assert await _claim(video_id, "a") == "taken"
    assert await _claim(video_id, "a") == "taken", "the same run resumes its own video"
    assert (await _claim(video_id, "b")).startswith("busy")
    async with session_scope() as session:
        await runs.release_run(session=session, video_id=video_id, holder="b")  # not b's
    assert (await _claim(video_id, "b")).startswith("busy")
    async with session_scope() as session:
        await runs.release_run(session=session, video_id=video_id, holder="a")
    assert await _claim(video_id, "b") == "taken"


async def test_a_lease_past_its_time_belongs_to_a_dead_run(database_url: str) -> None:
    video_id = await _video()
    assert await _claim(video_id, "dead", lease_s=0.2) == "taken"
    assert (await _claim(video_id, "next")).startswith("busy")
    await asyncio.sleep(0.5)
    async with session_scope() as session:
        assert not await runs.renew_run(
            session=session, video_id=video_id, holder="next", lease_s=60
        )
    assert await _claim(video_id, "next") == "taken"
    async with session_scope() as session:
        assert not await runs.renew_run(
            session=session, video_id=video_id, holder="dead", lease_s=60
        ), "the dead run learns it lost the video"


async def test_a_lease_held_by_a_process_of_this_host_that_exited_is_free_at_once(
    database_url: str,
) -> None:
    video_id = await _video()
    code = (
        "import asyncio, sys; from flows.core import runs; from flows.core.store import "
        "session_scope\nasync def main():\n    async with session_scope() as s:\n"
        f"        await runs.claim_run(session=s, video_id={video_id}, holder='gone', "
        "lease_s=3600)\nasyncio.run(main())"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
    assert video.run_lease == "gone" and video.run_pid not in (None, os.getpid())
    assert runs.holder_is_dead(video)
    async with session_scope() as session:
        dead = await recovery.dead_runs(session=session)
    assert [v.id for v in dead] == [video_id], "recover reaps it though its lease has time left"
    assert await _claim(video_id, "next") == "taken"


async def test_two_openings_of_one_plan_at_once_give_one_video(database_url: str) -> None:
    ids = await asyncio.gather(*(_video() for _ in range(6)))
    assert len(set(ids)) == 1, ids
    async with session_scope() as session:
        assert len(await videos.list_videos(session=session)) == 1


async def test_first_runs_racing_for_a_new_channel_all_succeed(database_url: str) -> None:
    plan = load_manifest(TINY)

    async def open_for(project: str) -> int:
        async with session_scope() as session:
            manifest = plan.model_copy(update={"project_id": project})
            return (await videos.open_video(session=session, channel="fresh", manifest=manifest)).id

    ids = await asyncio.gather(*(open_for(f"p{i}") for i in range(8)))
    assert len(set(ids)) == 8


async def test_a_final_video_frees_its_plan_for_a_new_one(database_url: str) -> None:
    first = await _video()
    async with session_scope() as session:
        for status in ("generating_assets", "generating_composites", "generating_video",
                       "generating_audio", "generating_sfx", "assembling", "awaiting_review",
                       "rejected"):  # fmt: skip
            await videos.set_status(session=session, video_id=first, status=status)
    assert await _video() != first


def test_busy_with_names_a_live_holder_and_ignores_an_expired_one() -> None:
    from flows.core.models import Video

    now = utcnow()
    video = Video(id=3, status="generating_video", run_lease="r1", run_pid=None,
                  run_lease_until=now + timedelta(seconds=30), run_started_at=now)  # fmt: skip
    busy = runs.busy_with(video)
    assert busy is not None and "video 3 is being produced by run r1 since" in str(busy)
    assert runs.busy_with(video, holder="r1") is None
    video.run_lease_until = now - timedelta(seconds=1)
    assert runs.busy_with(video) is None


@pytest.fixture(autouse=True)
def _store(database_url: str) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""
