"""scripts/publish_youtube.py against the YouTube stand-in, as real subprocesses: the
resumable protocol (308 + Range, status queries, lost chunks and answers, 5xx, 404),
exactly one video, identical bytes, quota and token errors, limits before any request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.publish.conftest import CHUNK, RESOURCE, SCRIPTS, script_env, sha256, youtube
from tests.publish.youtube_fake import FakeYouTube


def _upload(mp4: Path, fake: FakeYouTube, state: Path) -> tuple[int, dict[str, Any], str]:
    code, started, err = youtube({"action": "start", "file": str(mp4), "resource": RESOURCE}, fake)
    assert code == 0, (started, err)
    request = {"action": "upload", "file": str(mp4), "session_url": started["session_url"],
               "state": str(state), "chunk_bytes": CHUNK}  # fmt: skip
    return youtube(request, fake)


def test_an_upload_in_chunks_makes_one_video_with_our_bytes(
    mp4: Path, fake: FakeYouTube, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    code, result, err = _upload(mp4, fake, state)
    assert code == 0, (result, err)
    assert list(fake.videos) == [result["video_id"]]
    video = fake.videos[result["video_id"]]
    assert video.sha256 == sha256(mp4) and video.resource["snippet"]["title"] == "A River"
    chunks = mp4.stat().st_size // CHUNK + 1
    assert fake.calls("PUT", "/upload/youtube/v3/videos").count(308) >= chunks - 1
    saved = json.loads(state.read_text())
    assert saved["confirmed"] == mp4.stat().st_size and saved["remote_id"] == video.id
    assert result["output"] == f"https://www.youtube.com/watch?v={video.id}"


def test_dropped_chunks_lost_answers_and_5xx_are_resumed_from_what_the_session_says(
    mp4: Path, fake: FakeYouTube, tmp_path: Path
) -> None:
    fake.drop_next, fake.lose_answers, fake.fail_puts = 1, 1, 2
    code, result, err = _upload(mp4, fake, tmp_path / "state.json")
    assert code == 0, (result, err)
    assert len(fake.videos) == 1 and fake.videos[result["video_id"]].sha256 == sha256(mp4)
    assert "asking the session" in err  # a PUT whose answer was lost: asked before resending
    assert fake.calls("PUT", "/upload/youtube/v3/videos").count(503) == 3


def test_an_expired_session_says_so_and_a_finished_one_answers_with_its_video(
    mp4: Path, fake: FakeYouTube, tmp_path: Path
) -> None:
    code, started, _ = youtube({"action": "start", "file": str(mp4), "resource": RESOURCE}, fake)
    fake.expire(started["session_url"])
    request = {"action": "upload", "file": str(mp4), "session_url": started["session_url"],
               "state": str(tmp_path / "s.json"), "chunk_bytes": CHUNK}  # fmt: skip
    code, result, _ = youtube(request, fake)
    assert code == 1 and result["error"]["type"] == "session_expired"
    code, first, _ = _upload(mp4, fake, tmp_path / "t.json")
    again = {**request, "session_url": fake_session_url(fake, first["video_id"])}
    code, second, _ = youtube(again, fake)  # an upload that finished: the same video back
    assert code == 0 and second["video_id"] == first["video_id"] and len(fake.videos) == 1


def fake_session_url(fake: FakeYouTube, video_id: str) -> str:
    (session,) = [s for s in fake.sessions.values() if s.video_id == video_id]
    return f"{fake.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={session.id}"


def test_sigkill_mid_upload_then_the_same_session_resumes_to_one_identical_video(
    mp4: Path, fake: FakeYouTube, tmp_path: Path
) -> None:
    code, started, _ = youtube({"action": "start", "file": str(mp4), "resource": RESOURCE}, fake)
    state = tmp_path / "state.json"
    request = {"action": "upload", "file": str(mp4), "session_url": started["session_url"],
               "state": str(state), "chunk_bytes": CHUNK}  # fmt: skip
    fake.hold_after = 2 * CHUNK  # PUTs past two chunks wait: the uploader dies meanwhile
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "publish_youtube.py")], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **script_env(fake)},
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(json.dumps(request).encode())
    process.stdin.close()
    deadline = time.monotonic() + 30
    while fake.hold.is_set():
        assert time.monotonic() < deadline, "the upload never reached the hold"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert json.loads(state.read_text())["confirmed"] == 2 * CHUNK  # durable progress
    fake.hold_after = 1 << 62
    fake.hold.set()
    code, result, err = youtube(request, fake)
    assert code == 0, (result, err)
    assert len(fake.sessions) == 1 and len(fake.videos) == 1
    assert fake.videos[result["video_id"]].sha256 == sha256(mp4)


def test_quota_errors_have_their_own_types(mp4: Path, fake: FakeYouTube, tmp_path: Path) -> None:
    fake.uploads_left = 0
    code, result, _ = youtube({"action": "start", "file": str(mp4), "resource": RESOURCE}, fake)
    assert code == 1 and result["error"]["type"] == "quota_exceeded"
    fake.uploads_left, fake.upload_cap = 5, 0
    code, result, _ = youtube({"action": "start", "file": str(mp4), "resource": RESOURCE}, fake)
    assert code == 1 and result["error"]["type"] == "upload_limit_exceeded"
    fake.upload_cap = 5
    code, uploaded, _ = _upload(mp4, fake, tmp_path / "s.json")
    fake.units_left = 399  # captions.insert costs 400
    srt = tmp_path / "film.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,500\nHello\n")
    captions = {"file": str(srt), "language": "en", "name": "English"}
    finish = {"action": "finish", "video_id": uploaded["video_id"],
              "state": str(tmp_path / "s.json"), "captions": captions}  # fmt: skip
    code, result, _ = youtube(finish, fake)
    assert code == 1 and result["error"]["type"] == "quota_exceeded"


def test_finish_sets_the_thumbnail_and_captions_once(
    mp4: Path, fake: FakeYouTube, tmp_path: Path
) -> None:
    state = tmp_path / "s.json"
    code, uploaded, _ = _upload(mp4, fake, state)
    png, srt = tmp_path / "thumb.png", tmp_path / "film.srt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    srt.write_text("1\n00:00:00,000 --> 00:00:00,500\nHello\n")
    finish = {"action": "finish", "video_id": uploaded["video_id"], "state": str(state),
              "thumbnail": str(png), "playlist_id": "PL123abc",
              "captions": {"file": str(srt), "language": "en", "name": "English"}}  # fmt: skip
    for _ in range(2):  # the second run finds everything done
        code, result, err = youtube(finish, fake)
        assert code == 0, (result, err)
    video = fake.videos[uploaded["video_id"]]
    assert video.thumbnail == png.read_bytes() and len(video.captions) == 1
    assert video.captions[0]["content"] == srt.read_bytes()
    assert fake.units_left == 10_000 - 50 - 400 - 50


def test_captions_need_the_force_ssl_scope(mp4: Path, tmp_path: Path) -> None:
    fake = FakeYouTube(scopes=("https://www.googleapis.com/auth/youtube.upload",)).start()
    try:
        state = tmp_path / "s.json"
        code, uploaded, _ = _upload(mp4, fake, state)
        srt = tmp_path / "film.srt"
        srt.write_text("1\n00:00:00,000 --> 00:00:00,500\nHello\n")
        finish = {"action": "finish", "video_id": uploaded["video_id"], "state": str(state),
                  "captions": {"file": str(srt), "language": "en", "name": "English"}}  # fmt: skip
        code, result, _ = youtube(finish, fake)
        assert code == 1 and result["error"]["type"] == "forbidden"
        assert "Insufficient Permission" in result["error"]["message"]
    finally:
        fake.stop()


def test_invalid_grant_is_the_one_sentence_about_testing_consent_screens(
    mp4: Path, fake: FakeYouTube
) -> None:
    fake.revoked = True
    code, result, err = youtube({"action": "start", "file": str(mp4), "resource": RESOURCE}, fake)
    assert code == 1 and result["error"]["type"] == "invalid_grant"
    assert '"Testing" expires refresh tokens after 7 days' in result["error"]["message"]
    assert "rtoken" not in result["error"]["message"] + err and "csecret" not in err


def test_a_title_over_the_limit_is_refused_before_any_request(mp4: Path, fake: FakeYouTube) -> None:
    resource = {**RESOURCE, "snippet": {**RESOURCE["snippet"], "title": "x" * 101}}
    code, result, _ = youtube({"action": "start", "file": str(mp4), "resource": resource}, fake)
    assert code == 2 and "title" in result["error"]["message"]
    assert fake.log == []  # not even the token
