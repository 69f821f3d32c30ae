"""A video's upload session, in our database and in the state file its script keeps.

The database row (``UploadSession``) is what survives a lost machine; the state file is how
the stateless upload script carries its progress between runs and how the flow learns of
it while the script runs. The session is recorded here before the first byte is sent,
advanced as the publisher confirms bytes (only ever forwards, and only for the session it
belongs to), and finished with the publisher's id of the video, after which that video is
never uploaded again. Data functions take ``*, session``.

State file (JSON, written atomically by the script after each confirmed chunk)::

    {"session_url": "...", "total": 1234, "sha256": "...", "confirmed": 524288,
     "remote_id": null, "steps": {"thumbnail": true, "captions": "caption id"}}
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.models import UploadSession, Video, utcnow
from flows.core.store import insert_ignoring_conflicts
from flows.core.videos import get_video

__all__ = [
    "due_to_publish",
    "expire_session",
    "get_upload",
    "mark_published",
    "open_upload",
    "read_state",
    "record_progress",
    "record_session",
    "record_steps",
    "record_uploaded",
    "set_waiting_until",
    "state_of",
    "write_state",
]


async def get_upload(*, session: AsyncSession, video_id: int) -> UploadSession | None:
    found = await session.scalars(select(UploadSession).where(UploadSession.video_id == video_id))
    return found.first()


async def open_upload(
    *, session: AsyncSession, video_id: int, publisher: str, sha256: str, total: int
) -> UploadSession:
    """The video's upload row, made if missing. A row for other bytes (or another publisher)
    that never finished starts over; a finished one is kept whatever the file is now."""
    now = utcnow()
    statement = insert_ignoring_conflicts(session, UploadSession).values(
        video_id=video_id, publisher=publisher, sha256=sha256, total_bytes=total,
        bytes_confirmed=0, state="created", steps={}, sessions_started=0,
        created_at=now, updated_at=now,
    )  # fmt: skip
    await session.execute(statement.on_conflict_do_nothing(index_elements=["video_id"]))
    row = await _locked(session, video_id)
    if row.remote_id is None and (row.sha256, row.total_bytes, row.publisher) != (
        sha256, total, publisher,
    ):  # fmt: skip
        row.sha256, row.total_bytes, row.publisher = sha256, total, publisher
        row.session_url, row.bytes_confirmed, row.state, row.steps = None, 0, "created", {}
    return row


async def _locked(session: AsyncSession, video_id: int) -> UploadSession:
    query = select(UploadSession).where(UploadSession.video_id == video_id).with_for_update()
    return (await session.scalars(query)).one()


async def record_session(*, session: AsyncSession, video_id: int, url: str) -> UploadSession:
    """A new upload session opened at the publisher (before its first byte)."""
    row = await _locked(session, video_id)
    row.session_url, row.bytes_confirmed, row.state = url, 0, "uploading"
    row.sessions_started += 1
    return row


async def record_progress(
    *, session: AsyncSession, video_id: int, url: str, confirmed: int
) -> bool:
    """The publisher confirmed ``confirmed`` bytes of session ``url``: True when that moved
    the row forward (a stale or foreign report changes nothing)."""
    row = await _locked(session, video_id)
    if row.session_url != url or row.remote_id is not None or confirmed <= row.bytes_confirmed:
        return False
    row.bytes_confirmed = min(confirmed, row.total_bytes)
    return True


async def record_uploaded(*, session: AsyncSession, video_id: int, remote_id: str) -> UploadSession:
    """The upload is complete: the publisher's id of the video (never upload it again)."""
    row = await _locked(session, video_id)
    row.remote_id, row.bytes_confirmed, row.state = remote_id, row.total_bytes, "uploaded"
    return row


async def expire_session(*, session: AsyncSession, video_id: int) -> UploadSession:
    """The publisher forgot the session (404): the next try opens a new one from byte 0."""
    row = await _locked(session, video_id)
    row.session_url, row.bytes_confirmed, row.state = None, 0, "expired"
    return row


async def record_steps(
    *, session: AsyncSession, video_id: int, steps: dict[str, Any], done: bool = False
) -> UploadSession:
    """The calls after the upload that are done (thumbnail, captions, playlist)."""
    row = await _locked(session, video_id)
    row.steps = {**row.steps, **steps}
    if done:
        row.state = "done"
    return row


async def mark_published(*, session: AsyncSession, video_id: int, url: str) -> Video:
    video = await get_video(session=session, video_id=video_id, lock=True)
    video.public_url, video.next_attempt_at = url, None
    return video


async def set_waiting_until(
    *, session: AsyncSession, video_id: int, until: datetime | None
) -> Video:
    """When a ``publish_waiting`` video may be tried again (None: at once)."""
    video = await get_video(session=session, video_id=video_id, lock=True)
    video.next_attempt_at = until
    return video


async def due_to_publish(*, session: AsyncSession, now: datetime | None = None) -> list[Video]:
    """``publish_waiting`` videos whose time has come (or that have no time: a dead run's)."""
    query = select(Video).where(
        Video.status == "publish_waiting",
        or_(Video.next_attempt_at.is_(None), Video.next_attempt_at <= (now or utcnow())),
    )
    return list((await session.scalars(query.order_by(Video.id))).all())


# --- the state file ------------------------------------------------------------------------


def state_of(row: UploadSession) -> dict[str, Any]:
    """The state file a script resumes from, as the database knows it."""
    return {
        "session_url": row.session_url, "total": row.total_bytes, "sha256": row.sha256,
        "confirmed": row.bytes_confirmed, "remote_id": row.remote_id, "steps": dict(row.steps),
    }  # fmt: skip


def read_state(path: Path) -> dict[str, Any] | None:
    """The state file's content; None when it is missing or unreadable (half a write never
    happens: it is replaced atomically)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically (temp file beside it, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with temp.open("w", encoding="utf-8") as out:
            json.dump(state, out)
            out.flush()
            os.fsync(out.fileno())
        temp.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
