"""The YouTube publisher: one upload session per video, recorded before its first byte,
resumed after any crash, never a second YouTube video for one of ours.

1. The row in ``upload_sessions`` holds the session URL, the bytes YouTube confirmed, the
   file's SHA-256 and, once the upload completed, YouTube's video id. An id there means the
   upload is done: it is never started again.
2. Without a session, ``publish_youtube`` ``start`` opens one (``videos.insert``, nothing sent)
   and the flow records it; only then does ``upload`` send bytes. The script asks the session
   where it is before sending anything (a PUT whose answer was lost may have landed) and
   writes the confirmed bytes to a state file after each chunk; the flow copies them into
   the row as they advance. A 404 (expired session) opens a new one from byte 0.
3. ``finish`` sets the thumbnail, inserts the captions and the playlist item, each once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from pydantic import SecretStr

from blocks import YouTubeCredentials
from flows.core import uploads
from flows.core.errors import ConfigError, PublishError, ScriptFailed
from flows.core.manifest import Manifest
from flows.core.manifest_publish import PublishPlan
from flows.core.models import UploadSession, Video
from flows.core.publishing import (
    PublisherConfig,
    PublishFiles,
    file_sha256,
    public_url,
    video_resource,
)
from flows.core.settings import get_settings
from flows.core.store import session_scope
from flows.scripts import run_script

__all__ = ["error_type", "publish_to_youtube", "youtube_environment"]

SCRIPT = "publish_youtube"
MAX_SESSIONS = 3
POLL_SECONDS = 0.2
CREDENTIALS = {
    "client_id": "REELFLOW_YOUTUBE_CLIENT_ID",
    "client_secret": "REELFLOW_YOUTUBE_CLIENT_SECRET",
    "refresh_token": "REELFLOW_YOUTUBE_REFRESH_TOKEN",
}
URLS = ("REELFLOW_YOUTUBE_BASE_URL", "REELFLOW_YOUTUBE_UPLOAD_URL", "REELFLOW_GOOGLE_TOKEN_URL")


async def youtube_environment(config: PublisherConfig) -> dict[str, str]:
    """The script's credentials and endpoints: from the channel's YouTubeCredentials block,
    else the REELFLOW_YOUTUBE_* settings. ``--base-url youtube=ROOT`` on the channel stands
    for https://www.googleapis.com (API and uploads) and ROOT/token for the token endpoint."""
    settings = get_settings()
    if config.credentials_block:
        try:
            block = cast(
                YouTubeCredentials, await YouTubeCredentials.aload(config.credentials_block)
            )
        except ValueError:
            raise ConfigError(f"no YouTubeCredentials block {config.credentials_block!r}") from None
        values: list[Any] = [block.client_id, block.client_secret, block.refresh_token]
    else:
        values = [settings.youtube_client_id, settings.youtube_client_secret,
                  settings.youtube_refresh_token]  # fmt: skip
    plain = [str(v.get_secret_value() if isinstance(v, SecretStr) else v or "") for v in values]
    env = dict(zip(CREDENTIALS.values(), plain, strict=True))
    missing = [name for name, value in env.items() if not value]
    if missing:
        raise ConfigError(
            f"channel {config.channel!r} publishes to YouTube but has no credentials: set "
            f"{', '.join(missing)}, or make a block (`reelflow youtube auth BLOCK`) and give "
            "the channel --credentials youtube=BLOCK"
        )
    root = config.base_urls.get("youtube", "").rstrip("/")
    urls = (
        [f"{root}/youtube/v3", f"{root}/upload/youtube/v3", f"{root}/token"]
        if root
        else [settings.youtube_base_url, settings.youtube_upload_url, settings.google_token_url]
    )
    return {**env, **{name: url for name, url in zip(URLS, urls, strict=True) if url}}


def error_type(exc: BaseException) -> str:
    """The script's own error type (``quota_exceeded``, ``invalid_grant``…), or ""."""
    output = getattr(exc, "output", None)
    error = output.get("error") if isinstance(output, dict) else None
    return str(error.get("type", "")) if isinstance(error, dict) else ""


async def _script(action: str, request: dict[str, Any], video_id: int, env: dict[str, str]) -> Any:
    # no item label: a publish is not one of the video's cached items
    result = await run_script(SCRIPT, {"action": action, **request}, video_id=video_id, env=env)
    return result.output


async def publish_to_youtube(
    video: Video, plan: Manifest, files: PublishFiles, config: PublisherConfig
) -> str:
    """Upload (or resume, or skip when done) and finish the video: its watch URL."""
    resource = video_resource(plan, config)  # over YouTube's limits: refused before any byte
    env = await youtube_environment(config)
    sha, total = file_sha256(files.video), files.video.stat().st_size
    state = get_settings().data_dir / "uploads" / f"video-{video.id}.json"
    async with session_scope() as session:
        row = await uploads.open_upload(
            session=session, video_id=video.id, publisher="youtube", sha256=sha, total=total
        )
    remote = row.remote_id or await _upload(video.id, row, files, resource, env, state)
    await _finish(video.id, remote, plan, files, env, state)
    return public_url("youtube", remote)


async def _upload(
    video_id: int, row: UploadSession, files: PublishFiles, resource: dict[str, Any],
    env: dict[str, str], state: Path,
) -> str:  # fmt: skip
    """The upload, through at most MAX_SESSIONS sessions (YouTube may expire one): its id."""
    for _ in range(MAX_SESSIONS):
        url = row.session_url or await _open_session(video_id, files, resource, env)
        _seed_state(state, url, row)
        request = {"file": str(files.video), "session_url": url, "state": str(state),
                   "chunk_bytes": get_settings().youtube_chunk_bytes}  # fmt: skip
        try:
            async with _mirroring(video_id, url, state):
                output = await _script("upload", request, video_id, env)
        except ScriptFailed as exc:
            if error_type(exc) != "session_expired":
                raise
            async with session_scope() as session:
                row = await uploads.expire_session(session=session, video_id=video_id)
            continue
        async with session_scope() as session:
            await uploads.record_uploaded(
                session=session, video_id=video_id, remote_id=str(output["video_id"])
            )
        return str(output["video_id"])
    raise PublishError(f"YouTube expired {MAX_SESSIONS} upload sessions in a row")


async def _open_session(
    video_id: int, files: PublishFiles, resource: dict[str, Any], env: dict[str, str]
) -> str:
    """A new session (nothing sent yet), recorded before any byte goes out."""
    output = await _script("start", {"file": str(files.video), "resource": resource}, video_id, env)
    url = str(output["session_url"])
    async with session_scope() as session:
        await uploads.record_session(session=session, video_id=video_id, url=url)
    return url


def _seed_state(state: Path, url: str, row: UploadSession) -> None:
    """The state file the script resumes from: kept when it is this session's (it may know
    more than the row), else written from the row (another machine, a new session)."""
    found = uploads.read_state(state)
    if found is None or found.get("session_url") != url:
        confirmed = row.bytes_confirmed if row.session_url == url else 0
        seeded = {**uploads.state_of(row), "session_url": url, "confirmed": confirmed}
        uploads.write_state(state, seeded)


@contextlib.asynccontextmanager
async def _mirroring(video_id: int, url: str, state: Path) -> AsyncIterator[None]:
    """Copy the bytes the script reports confirmed into the row while the block runs."""

    recorded = -1

    async def sync() -> None:
        nonlocal recorded
        found = uploads.read_state(state) or {}
        confirmed = found.get("confirmed")
        if found.get("session_url") == url and isinstance(confirmed, int) and confirmed > recorded:
            recorded = confirmed
            async with session_scope() as session:
                await uploads.record_progress(
                    session=session, video_id=video_id, url=url, confirmed=confirmed
                )

    async def keep() -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            await sync()

    keeper = asyncio.create_task(keep())
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await sync()


async def _finish(
    video_id: int, remote: str, plan: Manifest, files: PublishFiles, env: dict[str, str],
    state: Path,
) -> None:  # fmt: skip
    """Thumbnail, captions and playlist item, each once (the state file and row know)."""
    wanted = plan.publish or PublishPlan()
    async with session_scope() as session:
        row = await uploads.get_upload(session=session, video_id=video_id)
    done = dict(row.steps) if row else {}
    known = uploads.read_state(state) or {}
    uploads.write_state(state, {**known, "remote_id": remote,
                                "steps": {**done, **(known.get("steps") or {})}})  # fmt: skip
    language = wanted.caption_language or wanted.default_language or plan.voice.split("-")[0]
    captions = (
        {
            "file": str(files.subtitles),
            "language": language,
            "name": wanted.caption_name or language,
        }
        if files.subtitles
        else None
    )
    request = {"video_id": remote, "state": str(state), "captions": captions,
               "thumbnail": str(files.thumbnail) if files.thumbnail else None,
               "playlist_id": wanted.playlist_id}  # fmt: skip
    try:
        output = await _script("finish", request, video_id, env)
    finally:
        steps = (uploads.read_state(state) or {}).get("steps") or {}
        async with session_scope() as session:
            await uploads.record_steps(session=session, video_id=video_id, steps=steps)
    async with session_scope() as session:
        await uploads.record_steps(
            session=session, video_id=video_id, steps=output.get("steps") or {}, done=True
        )
