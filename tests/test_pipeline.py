"""produce_video on the tiny plan: real scripts, real media, a real Prefect API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.core import step_runs, videos
from flows.core.errors import StepError
from flows.core.manifest import load_manifest, parse_manifest
from flows.core.media import probe
from flows.core.settings import Settings
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, open_video, produce, runs_by_label, scripts_with_faults, statuses

pytestmark = pytest.mark.usefixtures("prefect_api")

TINY_LABELS = {
    "assets/dawn/background", "assets/dawn/foreground", "assets/forest/background",
    "assets/storm/background", "assets/storm/foreground",
    "composites/dawn", "composites/forest", "composites/storm",
    "video/dawn", "video/forest", "video/storm",
    "narration/dawn", "narration/forest", "narration/storm",
    "sfx/dawn", "sfx/forest", "sfx/storm",
    "assembly/final",
}  # fmt: skip
SEED_ORDER = [
    "queued", "generating_assets", "generating_composites", "generating_video",
    "generating_audio", "generating_sfx", "assembling", "awaiting_review",
]  # fmt: skip


@pytest.fixture
def pipeline_settings(configure: Configure) -> Settings:
    return configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


async def test_a_full_run_makes_a_validated_mp4_through_the_seed_statuses(
    approved_tiny: tuple[dict[str, Any], Settings],
) -> None:
    result, settings = approved_tiny  # produce() of TINY, approved (made once per session)
    final = Path(result["output"])
    info = probe(final)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration - 5.0) <= 0.5
    assert (info.width, info.height) == (192, 108)
    srt = final.with_suffix(".srt").read_text()
    assert "The day begins by the sea." in srt and "Then the storm arrives." in srt
    assert final.parent == settings.output_dir / "test" / "tiny" / "assembly"
    published = ["publishing", "published"]  # right after the approval (flows/publish)
    assert await statuses(result["video_id"]) == [*SEED_ORDER, "approved", *published]
    assert set(await runs_by_label("completed")) == TINY_LABELS
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
        runs = await step_runs.list_step_runs(session=session, video_id=video.id)
    assert video.cost_usd == 0.0 and video.duration_s and video.duration_s > 0
    assert not video.over_target
    assert [(r.step, r.items_done, r.items_total, r.status) for r in runs] == [
        ("assets", 5, 5, "completed"), ("composites", 3, 3, "completed"),
        ("video", 3, 3, "completed"), ("narration", 3, 3, "completed"),
        ("sfx", 3, 3, "completed"), ("assembly", 1, 1, "completed"),
    ]  # fmt: skip
    assert all(r.duration_s is not None and r.duration_s >= 0 for r in runs)


async def test_a_rejection_is_recorded_with_its_reason(pipeline_settings: Settings) -> None:
    result = await produce(decision="reject")
    assert result["decision"]["decision"] == "reject"
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
    assert (video.status, video.error) == ("rejected", "not good enough")


async def test_a_failed_run_resumes_with_only_the_unfinished_items(
    configure: Configure, tmp_path: Path
) -> None:
    scripts = scripts_with_faults(
        tmp_path, {"generate_video": [{"match": "/forest.mp4", "times": 1, "exit": 1}]}
    )
    configure(scripts_dir=scripts, retry_delay_seconds="0.05")
    with pytest.raises(StepError, match="injected failure"):
        await produce()
    first = await runs_by_label()
    async with session_scope() as session:
        video = (await videos.list_videos(session=session))[0][0]
    assert video.status == "video_error" and "injected failure" in (video.error or "")
    assert first["video/forest"] == 1, "a permanent failure is not retried"
    assert "narration/dawn" not in first, "the run stopped at the failed step"

    result = await produce()
    assert result["video_id"] == video.id, "the same video is resumed"
    second = await runs_by_label()
    rerun = {label: second[label] - first.get(label, 0) for label in second}
    assert {label for label, n in rerun.items() if n} == {
        "video/forest", "narration/dawn", "narration/forest", "narration/storm",
        "sfx/dawn", "sfx/forest", "sfx/storm", "assembly/final",
    }  # fmt: skip
    assert all(n <= 1 for n in rerun.values())


async def test_transient_failures_are_retried_until_they_pass(
    configure: Configure, tmp_path: Path
) -> None:
    scripts = scripts_with_faults(
        tmp_path, {"generate_sfx": [{"match": "/dawn.wav", "times": 2, "exit": 75}]}
    )
    configure(scripts_dir=scripts, retry_delay_seconds="0.05")
    await produce()
    runs = await runs_by_label()
    assert runs["sfx/dawn"] == 3
    assert (await runs_by_label("failed"))["sfx/dawn"] == 2


async def test_editing_one_narration_reruns_that_line_and_the_assembly_only(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    await produce()
    before = await runs_by_label()
    data = yaml.safe_load(TINY.read_text())
    data["scenes"][1]["narration"] = "Deep in the forest, an owl calls."
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data))
    await produce(edited)
    after = await runs_by_label()
    rerun = {label for label in after if after[label] != before.get(label, 0)}
    assert rerun == {"narration/forest", "assembly/final"}


async def test_a_cached_item_whose_file_is_gone_is_made_again(
    pipeline_settings: Settings,
) -> None:
    result = await produce()
    composite = Path(result["output"]).parents[1] / "composites" / "forest.png"
    composite.unlink()
    before = await runs_by_label()
    await produce()
    after = await runs_by_label()
    rerun = {label for label in after if after[label] != before.get(label, 0)}
    assert rerun == {"composites/forest"}, "the same picture again: nothing downstream changes"
    assert composite.is_file()


async def test_a_killed_run_is_resumed_without_redoing_finished_items(
    configure: Configure, tmp_path: Path
) -> None:
    scripts = scripts_with_faults(
        tmp_path, {"generate_video": [{"match": "/storm.mp4", "sleep": 30}]}
    )
    configure(scripts_dir=scripts, retry_delay_seconds="0.05")
    video_id = await open_video()
    child = subprocess.Popen(
        [sys.executable, "-c",
         f"import asyncio; from flows.pipeline import produce_video; "
         f"asyncio.run(produce_video(video_id={video_id}))"],
        cwd=PROJECT_ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _until_killable(timeout=90)  # dawn and forest done, storm's clip mid-flight
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    done = await runs_by_label("completed")
    os.environ["REELFLOW_TEST_SKIP_SLEEP"] = "1"
    try:
        await produce()
    finally:
        os.environ.pop("REELFLOW_TEST_SKIP_SLEEP")
    completed = await runs_by_label("completed")
    twice = {label for label, n in completed.items() if n > 1}
    assert not twice, f"finished items ran twice: {twice}"
    assert set(completed) == TINY_LABELS
    assert {label for label in completed if completed[label] != done.get(label, 0)} >= {
        "video/storm", "assembly/final",
    }  # fmt: skip


async def _until_killable(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done, running = await runs_by_label("completed"), await runs_by_label("running")
        if done["video/dawn"] and done["video/forest"] and running["video/storm"]:
            return
        assert time.monotonic() < deadline, "the killed run never got that far"
        await asyncio.sleep(0.2)


def test_manifest_files_of_the_examples_are_valid() -> None:
    assert len(load_manifest(TINY).scenes) == 3
    demo = load_manifest(PROJECT_ROOT / "examples" / "documentary.yaml")
    assert len(demo.scenes) >= 12 and 60 <= demo.duration <= 90
    assert (demo.width, demo.height) == (1280, 720)
    with pytest.raises(Exception, match=r"scene 'storm' \(#3\) duration"):
        data = yaml.safe_load(TINY.read_text())
        data["scenes"][2]["duration"] = -1
        parse_manifest(data)


async def test_a_video_over_its_target_duration_is_flagged_and_warned_about(
    configure: Configure,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterLevel

    configure(scripts_dir=PROJECT_ROOT / "scripts", target_seconds="0.5")
    result = await produce()
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
    assert video.over_target and video.target_s == 0.5
    warnings: list[str] = []
    async with get_client() as client:
        for _ in range(40):  # the run's log reaches the API in batches
            logs = await client.read_logs(
                log_filter=LogFilter(
                    flow_run_id=LogFilterFlowRunId(any_=[video.flow_run_id]),
                    level=LogFilterLevel(ge_=30),
                ),
                limit=50,
                offset=0,
            )
            warnings = [log.message for log in logs]
            if any("over its 0.5 s target" in m for m in warnings):
                break
            await asyncio.sleep(0.25)
    assert any("over its 0.5 s target" in m for m in warnings), warnings
