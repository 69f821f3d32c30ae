"""``reelflow publish`` to the YouTube stand-in, through the CLI and a real Prefect API:
published with its URL, the session recorded; SIGKILL mid-upload and the next run resumes
the same session to one identical video; quota → publish_waiting → published by
``publish --pending``; invalid_grant and over-long titles in one clear line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from flows.core import uploads, videos
from flows.core.models import utcnow
from flows.core.store import session_scope
from tests.conftest import PROJECT_ROOT, Configure
from tests.publish.conftest import CHUNK, approved_video, sha256
from tests.publish.youtube_fake import FakeYouTube

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def on_youtube(configure: Configure, fake: FakeYouTube) -> Iterator[FakeYouTube]:
    """Settings of a default channel that publishes to the stand-in in 256 KiB chunks."""
    configure(
        scripts_dir=PROJECT_ROOT / "scripts", publisher="youtube",
        youtube_chunk_bytes=str(CHUNK), youtube_backoff_seconds="0.01", **fake.env(),
    )  # fmt: skip
    yield fake


async def _video(video_id: int) -> tuple[str, str | None, str | None]:
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
        return video.status, video.public_url, video.error


async def _upload(video_id: int) -> uploads.UploadSession:
    async with session_scope() as session:
        row = await uploads.get_upload(session=session, video_id=video_id)
    assert row is not None
    return row


def test_an_approved_video_is_published_with_its_url_and_the_session_recorded(
    on_youtube: FakeYouTube, mp4: Path
) -> None:
    video_id = asyncio.run(approved_video(mp4, publish={"description": "A film.", "tags": ["a"]}))
    result = runner.invoke(app, ["publish", str(video_id)])
    assert result.exit_code == 0, result.output
    (remote,) = on_youtube.videos
    url = f"https://www.youtube.com/watch?v={remote}"
    assert f"video {video_id}: published {url}" in result.stdout
    assert asyncio.run(_video(video_id)) == ("published", url, None)
    stored = on_youtube.videos[remote]
    assert stored.sha256 == sha256(mp4) and stored.thumbnail and len(stored.captions) == 1
    status = stored.resource["status"]
    assert status == {"privacyStatus": "private", "selfDeclaredMadeForKids": False,
                      "containsSyntheticMedia": True}  # fmt: skip
    row = asyncio.run(_upload(video_id))
    assert (row.remote_id, row.state, row.bytes_confirmed) == (remote, "done", mp4.stat().st_size)
    assert runner.invoke(app, ["publish", str(video_id)]).exit_code == 0  # again: nothing new
    assert len(on_youtube.videos) == 1 and len(on_youtube.sessions) == 1
    shown = json.loads(runner.invoke(app, ["status", str(video_id), "--json"]).stdout)
    assert shown["public_url"] == url


def _scripts_of(fake: FakeYouTube) -> list[int]:
    """The publish_youtube processes uploading to this stand-in (Linux: /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"publish_youtube.py" in command and f":{fake.port}/".encode() in environ:
            found.append(int(proc.name))
    return found


def test_sigkill_during_the_upload_then_a_rerun_resumes_the_same_session(
    on_youtube: FakeYouTube, mp4: Path
) -> None:
    video_id = asyncio.run(approved_video(mp4))
    on_youtube.hold_after = 2 * CHUNK
    command = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv/bin/reelflow"), "publish", str(video_id)],
        env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while on_youtube.hold.is_set() or asyncio.run(_upload_or_none(video_id)) < 2 * CHUNK:
        assert command.poll() is None, command.stdout.read() if command.stdout else ""
        assert time.monotonic() < deadline, "the upload never reached two chunks"
        time.sleep(0.1)
    scripts = _scripts_of(on_youtube)
    os.killpg(command.pid, signal.SIGKILL)  # the machine dies: the command and its script
    for pid in scripts:  # the script runs in its own session: the machine takes it too
        os.kill(pid, signal.SIGKILL)
    command.wait(timeout=10)
    assert asyncio.run(_video(video_id))[0] == "publishing"
    on_youtube.hold_after = 1 << 62
    on_youtube.hold.set()
    result = runner.invoke(app, ["publish", str(video_id)])
    assert result.exit_code == 0, result.output
    assert len(on_youtube.sessions) == 1 and len(on_youtube.videos) == 1
    (stored,) = on_youtube.videos.values()
    assert stored.sha256 == sha256(mp4)
    row = asyncio.run(_upload(video_id))
    assert row.sessions_started == 1 and row.remote_id == stored.id
    assert "bytes */" not in result.output  # the query is the script's business, not a line
    assert on_youtube.calls("PUT", "/upload/youtube/v3/videos").count(308) >= 3


async def _upload_or_none(video_id: int) -> int:
    async with session_scope() as session:
        row = await uploads.get_upload(session=session, video_id=video_id)
    return row.bytes_confirmed if row else 0


def test_quota_waits_until_midnight_pacific_then_the_pending_flow_publishes(
    on_youtube: FakeYouTube, mp4: Path
) -> None:
    video_id = asyncio.run(approved_video(mp4))
    on_youtube.uploads_left = 0
    result = runner.invoke(app, ["publish", str(video_id)])
    assert result.exit_code == 75, result.output
    status, _, error = asyncio.run(_video(video_id))
    assert status == "publish_waiting" and "quota" in (error or "")
    assert "midnight Pacific" in result.stdout
    assert runner.invoke(app, ["publish", "--pending"]).stdout.strip() == (
        "nothing waits to be published"
    )  # its time has not come
    asyncio.run(_time_passes(video_id))
    on_youtube.uploads_left = 100  # midnight Pacific: the bucket is full again
    result = runner.invoke(app, ["publish", "--pending"])
    assert result.exit_code == 0, result.output
    assert asyncio.run(_video(video_id))[0] == "published" and len(on_youtube.videos) == 1


async def _time_passes(video_id: int) -> None:
    async with session_scope() as session:
        video = await videos.get_video(session=session, video_id=video_id)
        assert video.next_attempt_at is not None and video.next_attempt_at > utcnow()
        video.next_attempt_at = utcnow() - timedelta(seconds=1)


def test_invalid_grant_is_one_clear_line(on_youtube: FakeYouTube, mp4: Path) -> None:
    video_id = asyncio.run(approved_video(mp4))
    on_youtube.revoked = True
    result = runner.invoke(app, ["publish", str(video_id)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(f"video {video_id}: publish_error: ")
    assert '"Testing" expires refresh tokens after 7 days' in lines[-1]
    assert asyncio.run(_video(video_id))[0] == "publish_error"


def test_a_title_over_100_characters_is_refused_before_any_upload(
    on_youtube: FakeYouTube, mp4: Path
) -> None:
    title = "A " + "very " * 30 + "long film"  # a plan's title may be longer than YouTube's
    video_id = asyncio.run(approved_video(mp4, title=title))
    result = runner.invoke(app, ["publish", str(video_id)])
    assert result.exit_code == 1
    said = f"publish.title: is {len(title)} characters; YouTube takes at most 100"
    assert said in result.stderr
    assert on_youtube.log == [] and asyncio.run(_video(video_id))[0] == "publish_error"
