"""produce_video's finish on the tiny plan: one validated MP4 per format, the music bed as
an upstream file, the loudness the flow measured kept on the video and shown by
``reelflow status``, the thumbnail beside the final; and a format that fails the flow's own
check fails the assembly."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
import yaml
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core import manifest_media as media_options
from flows.core import videos
from flows.core.errors import StepError
from flows.core.manifest import parse_manifest
from flows.core.manifest_media import vertical_size
from flows.core.media import check_outputs, finish_markdown, probe
from flows.core.settings import Settings
from flows.core.steps import VideoPaths
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY, produce, runs_by_label

pytestmark = pytest.mark.usefixtures("prefect_api")


async def test_the_final_is_checked_and_its_loudness_kept_and_shown(
    approved_tiny: tuple[dict[str, Any], Settings],
) -> None:
    result, _ = approved_tiny
    final = Path(result["output"])
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
    figures = video.step_completion["loudness"]["landscape"]
    assert figures["target"] == -14.0 and abs(figures["integrated"] + 14.0) <= 0.5
    assert figures["true_peak"] <= -1.0 and figures["lra"] >= 0
    thumbnail = final.with_name(f"{final.stem}-thumbnail.jpg")
    assert thumbnail.is_file() and thumbnail.stat().st_size < 2_000_000
    shown = await asyncio.to_thread(CliRunner().invoke, app, ["status", str(result["video_id"])])
    human = shown.stdout
    assert f"loudness landscape: {figures['integrated']:.1f} LUFS (target -14)" in human
    markdown = finish_markdown(
        parse_manifest(video.manifest), VideoPaths(final.parents[1]), video.step_completion
    )
    assert f"- landscape: `{final}`" in markdown and f"thumbnail: `{thumbnail}`" in markdown
    assert "- loudness landscape: " in markdown and "captions: burned; music: none" in markdown


async def test_every_format_is_made_and_validated_with_a_music_file(
    configure: Configure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")
    bed = tmp_path / "bed.wav"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
         "aevalsrc=0.1*sin(330*2*PI*t):s=48000:d=3", str(bed)],
        check=True,
    )  # fmt: skip
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data.update(formats=["landscape", "vertical"], music=str(bed), crossfade=0.3)
    plan = parse_manifest(data)
    result = await produce(plan)
    labels = set(await runs_by_label("completed"))
    assert {"assembly/final", "assembly/vertical"} <= labels
    assert not any(label.startswith("sfx/music") for label in labels), "a file is no item"
    vertical = Path(result["output"]).with_name("tiny-vertical.mp4")
    info = probe(vertical)
    assert (info.width, info.height) == vertical_size(plan.width, plan.height)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration - plan.duration) <= 0.5
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
    assert set(video.step_completion["loudness"]) == {"landscape", "vertical"}

    # The flow checks every format itself: a vertical of the wrong size (as a script of
    # one's own might make) stops the next run, all of whose items are cached, at the check.
    with monkeypatch.context() as patch:
        patch.setattr(media_options, "vertical_size", lambda w, h: (w, h * 2))
        with pytest.raises(StepError, match="tiny-vertical.mp4: frame"):
            await produce(plan)
    async with session_scope() as session:
        failed = (await videos.list_videos(session=session))[0][0]
    assert failed.status == "assembly_error" and "tiny-vertical.mp4" in (failed.error or "")

    paths = VideoPaths(Path(result["output"]).parents[1])
    assert check_outputs(plan, paths)[0] == []
    vertical.write_bytes(vertical.read_bytes()[: vertical.stat().st_size // 3])
    problems, _ = check_outputs(plan, paths)
    assert problems and all(p.startswith("tiny-vertical.mp4: ") for p in problems)


async def test_a_channels_loudness_target_is_met_when_the_plan_names_none(
    configure: Configure,
) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")
    made = await asyncio.to_thread(
        CliRunner().invoke, app, ["channel", "create", "quiet", "--loudness", "-18"]
    )
    assert made.exit_code == 0, made.output
    result = await produce(TINY, channel="quiet")
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=result["video_id"])
    figures = video.step_completion["loudness"]["landscape"]
    assert figures["target"] == -18.0 and abs(figures["integrated"] + 18.0) <= 0.5
    assert figures["true_peak"] <= -1.0
    refused = await asyncio.to_thread(
        CliRunner().invoke, app, ["channel", "create", "loud", "--loudness", "-2"]
    )
    assert refused.exit_code == 2 and "less than or equal to -5" in refused.output
