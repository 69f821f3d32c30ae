"""Fixtures for the publishing tests: the YouTube stand-in, a small real MP4 of a few
upload chunks, and approved videos made directly in the store (no pipeline run needed)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from tests.conftest import PROJECT_ROOT
from tests.publish.youtube_fake import FakeYouTube

SCRIPTS = PROJECT_ROOT / "scripts"
CHUNK = 256 * 1024


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real H.264/AAC MP4 of about 1.3 MB (noise does not compress): five 256 KiB chunks."""
    path = tmp_path_factory.mktemp("publish-media") / "film.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "nullsrc=size=320x180:rate=30,geq=random(1)*255:128:128",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-t", "0.5",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    assert path.stat().st_size > 4 * CHUNK
    return path


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    server = FakeYouTube().start()
    yield server
    server.stop()


def script_env(fake: FakeYouTube) -> dict[str, str]:
    """What the runner would give the script: the fake's credentials and URLs."""
    return {
        **{f"REELFLOW_{k}": v for k, v in fake.env().items()},
        "REELFLOW_YOUTUBE_BACKOFF_SECONDS": "0.01",
        "REELFLOW_SCRIPT": "publish_youtube",
    }


def youtube(
    request: dict[str, Any], fake: FakeYouTube, **env: str
) -> tuple[int, dict[str, Any], str]:
    """Run scripts/publish_youtube.py for real: (exit code, its JSON line, stderr)."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "publish_youtube.py")],
        input=json.dumps(request), capture_output=True, text=True, timeout=60,
        env={**os.environ, **script_env(fake), **env},
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"one JSON line expected: {done.stdout!r} {done.stderr[-2000:]}"
    return done.returncode, json.loads(lines[0]), done.stderr


RESOURCE = {
    "snippet": {"title": "A River", "description": "From the source to the sea.",
                "tags": ["river"], "categoryId": "22"},
    "status": {"privacyStatus": "private", "selfDeclaredMadeForKids": False,
               "containsSyntheticMedia": True},
}  # fmt: skip


PATH_TO_APPROVED = [
    "generating_assets", "generating_composites", "generating_video", "generating_audio",
    "generating_sfx", "assembling", "awaiting_review", "approved",
]  # fmt: skip


async def approved_video(
    mp4: Path, *, channel: str = "pub", project: str = "film", **plan: Any
) -> int:
    """A video of the tiny plan (``plan`` overrides its fields) that went through the
    pipeline's statuses to ``approved``, its MP4, .srt and first composite on disk where
    the pipeline puts them."""
    import shutil

    from PIL import Image

    from flows.core import videos
    from flows.core.manifest import load_manifest, parse_manifest
    from flows.core.settings import get_settings
    from flows.core.store import session_scope
    from tests.factories import TINY

    data = {**load_manifest(TINY).model_dump(mode="json"), "project_id": project, **plan}
    manifest = parse_manifest(data)
    root = get_settings().output_dir / channel / project
    final = root / "assembly" / f"{project}.mp4"
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mp4, final)
    final.with_suffix(".srt").write_text("1\n00:00:00,000 --> 00:00:00,500\nThe day begins.\n")
    thumbnail = root / "assembly" / f"{project}-thumbnail.jpg"  # as the assembly makes it
    Image.new("RGB", (128, 72), "navy").save(thumbnail, "JPEG")
    async with session_scope() as session:
        video = await videos.create_video(session=session, channel=channel, manifest=manifest)
        for status in PATH_TO_APPROVED:
            await videos.set_status(session=session, video_id=video.id, status=status)
        video.output_path = str(final)
        return video.id
