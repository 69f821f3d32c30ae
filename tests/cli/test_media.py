"""``reelflow media serve`` and ``media link``: a real server process, a real HTTP client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Configure
from tests.postgres import free_port

REELFLOW = [str(Path(sys.executable).with_name("reelflow"))]


def _reelflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*REELFLOW, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def media_env(prefect_api: str, configure: Configure, tmp_path: Path) -> Iterator[dict[str, str]]:
    settings = configure()
    video = settings.output_dir / "ch" / "p" / "assembly" / "p.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(os.urandom(4096))
    (tmp_path / "private.txt").write_text("not for reviewers")
    port = free_port()
    env = {**os.environ, "REELFLOW_MEDIA_SERVE_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen(
        [*REELFLOW, "media", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, server.communicate()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_printed_link_plays_with_range_requests_and_an_altered_one_is_403(
    media_env: dict[str, str], configure: Configure
) -> None:
    settings = configure()
    video = settings.output_dir / "ch" / "p" / "assembly" / "p.mp4"
    linked = _reelflow("media", "link", str(video), env=media_env)
    assert linked.returncode == 0, linked.stderr
    url = linked.stdout.strip()
    assert url.startswith(media_env["REELFLOW_MEDIA_SERVE_URL"] + "/media/ch/p/assembly/p.mp4?")
    part = httpx.get(url, headers={"Range": "bytes=0-99"}, timeout=10)
    assert part.status_code == 206 and part.headers["content-type"] == "video/mp4"
    assert part.content == video.read_bytes()[:100]
    altered = url[:-1] + ("1" if url[-1] == "0" else "0")
    assert httpx.get(altered, timeout=10).status_code == 403
    assert httpx.get(url.split("?")[0], timeout=10).status_code == 403


def test_a_link_outside_the_output_folder_is_refused(
    media_env: dict[str, str], tmp_path: Path
) -> None:
    result = _reelflow("media", "link", str(tmp_path / "private.txt"), env=media_env)
    assert result.returncode == 1
    assert (
        result.stderr.startswith("error: ")
        and "not a file under the output folder" in result.stderr
    )
    assert "Traceback" not in result.stderr
