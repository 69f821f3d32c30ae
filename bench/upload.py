"""Benchmark of the YouTube upload (scripts/_youtube.py) against a plain httpx PUT.

    .venv/bin/python bench/upload.py [--mb 64] [--repeat 3] [--chunk-mib 8]

Both send the same file to the YouTube stand-in (tests/publish/youtube_fake.py, in its own
process, writing what it receives to disk) on loopback, measured in this run:
  throughput: our resumable upload (a status query, then chunks of --chunk-mib with
  Content-Range and a 308 each) vs one plain ``httpx.put`` streaming the whole file to a
  session (best of --repeat); target >= 0.9x;
  memory: peak RSS of the real script (``publish_youtube.py upload``) for a file of --mb and
  of 4x --mb; target: flat (the larger within 10 MB of the smaller), the file is streamed
  from disk in 64 KiB blocks, never read whole.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from _youtube import YouTube  # noqa: E402

RESOURCE = {"snippet": {"title": "bench", "description": "", "categoryId": "22"},
            "status": {"privacyStatus": "private"}}  # fmt: skip
SERVER = (
    "import sys, time; sys.path.insert(0, {root!r});"
    "from tests.publish.youtube_fake import FakeYouTube;"
    "fake = FakeYouTube().start(); print(fake.port, flush=True); time.sleep(1e9)"
)


def start_fake() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT))], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    return server, f"http://127.0.0.1:{server.stdout.readline().strip()}"


def environment(url: str) -> dict[str, str]:
    return {
        "REELFLOW_YOUTUBE_CLIENT_ID": "cid", "REELFLOW_YOUTUBE_CLIENT_SECRET": "csecret",
        "REELFLOW_YOUTUBE_REFRESH_TOKEN": "rtoken", "REELFLOW_GOOGLE_TOKEN_URL": f"{url}/token",
        "REELFLOW_YOUTUBE_BASE_URL": f"{url}/youtube/v3",
        "REELFLOW_YOUTUBE_UPLOAD_URL": f"{url}/upload/youtube/v3",
    }  # fmt: skip


def token(url: str) -> str:
    form = {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "csecret",
            "refresh_token": "rtoken"}  # fmt: skip
    return str(httpx.post(f"{url}/token", data=form).json()["access_token"])


def make_file(folder: Path, mb: int) -> Path:
    path = folder / f"{mb}mb.mp4"
    with path.open("wb") as out:
        for _ in range(mb):
            out.write(os.urandom(1 << 20))
    return path


def ours(client: YouTube, path: Path, chunk: int) -> float:
    total = path.stat().st_size
    session = client.start(RESOURCE, total, "video/mp4")
    started = time.perf_counter()
    video = client.upload_file(session, path, total, chunk, lambda n: None)
    elapsed = time.perf_counter() - started
    assert video.get("id"), video
    return total / elapsed


def plain(client: YouTube, path: Path) -> float:
    """One PUT of the whole file, streamed: the fastest a client could go."""
    total = path.stat().st_size
    session = client.start(RESOURCE, total, "video/mp4")

    def blocks() -> Any:
        with path.open("rb") as stream:
            while block := stream.read(64 * 1024):
                yield block

    started = time.perf_counter()
    headers = {"Content-Range": f"bytes 0-{total - 1}/{total}", "Content-Length": str(total)}
    answer = client.http.put(session, content=blocks(), headers=headers)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 201, answer.status_code
    return total / elapsed


def script_rss(url: str, path: Path, chunk: int, state: Path) -> float:
    """Peak RSS (MB) of the real script uploading ``path``."""
    env = {**os.environ, **environment(url)}
    script = str(ROOT / "scripts" / "publish_youtube.py")
    start = {"action": "start", "file": str(path), "resource": RESOURCE}
    opened = subprocess.run([sys.executable, script], input=json.dumps(start), env=env,
                            capture_output=True, text=True, check=True)  # fmt: skip
    session = json.loads(opened.stdout)["session_url"]
    upload = {"action": "upload", "file": str(path), "session_url": session,
              "state": str(state), "chunk_bytes": chunk}  # fmt: skip
    code = (
        "import os, resource, runpy, sys; sys.argv = [sys.argv[1]];"
        "sys.path.insert(0, os.path.dirname(sys.argv[0]));"
        "\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')"
        "\nexcept SystemExit:\n    pass"
        "\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code, script], input=json.dumps(upload),
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert '"video_id"' in done.stdout, done.stdout + done.stderr
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=8)
    args = parser.parse_args()
    chunk = args.chunk_mib * 1024 * 1024
    server, url = start_fake()
    try:
        with tempfile.TemporaryDirectory(prefix="reelflow-bench-upload-") as tmp:
            folder = Path(tmp)
            small, large = make_file(folder, args.mb), make_file(folder, 4 * args.mb)
            os.environ.update(environment(url))  # the client reads its endpoints from there
            client = YouTube(token(url), [])
            base = mine = 0.0
            for _ in range(args.repeat):  # interleaved: a busy machine hurts both alike
                base = max(base, plain(client, small))
                mine = max(mine, ours(client, small, chunk))
            rss_small = script_rss(url, small, chunk, folder / "s.json")
            rss_large = script_rss(url, large, chunk, folder / "l.json")
            client.close()
    finally:
        server.kill()
    ratio = mine / base
    print(f"{'upload of ' + str(args.mb) + ' MB':<44} {'MB/s':>10} {'ratio':>8}")
    print(f"{'plain httpx PUT (one request)':<44} {base / 1e6:>10.1f} {1.0:>8.2f}")
    print(f"{f'resumable, {args.chunk_mib} MiB chunks (ours)':<44} {mine / 1e6:>10.1f} "
          f"{ratio:>8.2f}  target >= 0.90 {'ok' if ratio >= 0.9 else 'MISSED'}")  # fmt: skip
    flat = rss_large - rss_small
    print(f"peak RSS of the script: {rss_small:.1f} MB for {args.mb} MB, {rss_large:.1f} MB for "
          f"{4 * args.mb} MB (+{flat:.1f} MB)  target flat (< 10 MB) "
          f"{'ok' if flat < 10 else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
