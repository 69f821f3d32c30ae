"""ORM tables. The schema itself is owned by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

__all__ = [
    "NUL_REPLACEMENT",
    "Base",
    "Channel",
    "NotionBoardState",
    "ScriptExecution",
    "StepRun",
    "UploadSession",
    "Video",
    "VideoEvent",
    "utcnow",
    "without_nul",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# PostgreSQL text and JSONB cannot hold NUL (U+0000): one in any value fails the whole
# statement ("invalid byte sequence … 0x00"). Every text and JSON column below replaces it
# with U+FFFD, the character undecodable bytes already become, as values are bound.
NUL = "\x00"
NUL_REPLACEMENT = "\ufffd"


def without_nul(value: Any) -> Any:
    """``value`` with NUL replaced in every string, JSON keys and nested values included."""
    if isinstance(value, str):
        return value.replace(NUL, NUL_REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    return value


class NulFreeString(TypeDecorator[str]):
    """VARCHAR whose values never hold NUL: ``NulFreeString(200)`` as ``String(200)``."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value.replace(NUL, NUL_REPLACEMENT) if isinstance(value, str) else value


class NulFreeText(TypeDecorator[str]):
    """TEXT whose values never hold NUL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value.replace(NUL, NUL_REPLACEMENT) if isinstance(value, str) else value


class NulFreeJSON(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) whose strings, keys included, never hold NUL."""

    impl = JSON
    cache_ok = True
    hashable = False  # as JSON: dicts and lists are not hashable
    should_evaluate_none = True  # as JSON(): Python None is stored as JSON null

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return self.impl_instance.coerce_compared_value(op, value)  # col["key"] stays a key

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return without_nul(value)


JSONType = NulFreeJSON()


class Base(AsyncAttrs, DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        datetime: UTCDateTime,
        str: NulFreeString(),
    }


class Channel(Base):
    """A YouTube channel: its own outputs, credentials and board (configured in blocks)."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(NulFreeString(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Video(Base):
    """The pipeline's unit of work: one plan on its way to a reviewed MP4."""

    __tablename__ = "videos"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    project_id: Mapped[str] = mapped_column(NulFreeString(200))
    title: Mapped[str] = mapped_column(NulFreeString(500))
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    manifest_source: Mapped[str | None] = mapped_column(NulFreeString(1000))
    status: Mapped[str] = mapped_column(NulFreeString(40), index=True, default="queued")
    error: Mapped[str | None] = mapped_column(NulFreeText)
    step_completion: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    target_s: Mapped[float] = mapped_column(default=7200.0)
    over_target: Mapped[bool] = mapped_column(default=False)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    budget_usd: Mapped[float | None]
    output_path: Mapped[str | None] = mapped_column(NulFreeString(1000))
    flow_run_id: Mapped[str | None] = mapped_column(NulFreeString(36), index=True)
    review_round: Mapped[int] = mapped_column(default=0)
    notion_page_id: Mapped[str | None] = mapped_column(NulFreeString(64), unique=True)
    status_seq: Mapped[int] = mapped_column(default=0)
    notion_synced_seq: Mapped[int] = mapped_column(default=0)
    notion_error: Mapped[str | None] = mapped_column(NulFreeText)
    notion_lease: Mapped[str | None] = mapped_column(NulFreeString(36))
    notion_lease_until: Mapped[datetime | None]
    notion_create_sent_at: Mapped[datetime | None]  # a card create whose answer is not recorded
    # "<channel id>:<project id>" while unfinished, NULL once final: UNIQUE, so two runs of
    # one plan started together open one video.
    active_key: Mapped[str | None] = mapped_column(NulFreeString(420), unique=True)
    run_lease: Mapped[str | None] = mapped_column(NulFreeString(64))  # the live run working on it
    run_lease_until: Mapped[datetime | None]  # renewed while that run is alive
    run_started_at: Mapped[datetime | None]  # when that run took the video
    run_host: Mapped[str | None] = mapped_column(NulFreeString(255))  # where that run's process is
    run_pid: Mapped[int | None]  # and its pid: a dead process on this host frees the video
    attempts: Mapped[int] = mapped_column(default=0)  # automatic re-runs (recover, retries)
    next_attempt_at: Mapped[datetime | None]  # retry_scheduled: when the next try starts
    first_failed_at: Mapped[datetime | None]  # the first transient failure of this streak
    public_url: Mapped[str | None] = mapped_column(NulFreeString(1000))  # once published
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotionBoardState(Base):
    """What we learnt about a Notion board: its data source, and when it may be written again."""

    __tablename__ = "notion_boards"

    name: Mapped[str] = mapped_column(NulFreeString(200), primary_key=True)
    database_id: Mapped[str | None] = mapped_column(NulFreeString(64))
    data_source_id: Mapped[str | None] = mapped_column(NulFreeString(64))
    blocked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(NulFreeText)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StepRun(Base):
    """One run of one step for one video: items done/total, duration and cost."""

    __tablename__ = "step_runs"
    __table_args__ = (Index("ix_step_runs_video_step", "video_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(NulFreeString(32))
    status: Mapped[str] = mapped_column(NulFreeString(20), default="running")
    items_done: Mapped[int] = mapped_column(default=0)
    items_cached: Mapped[int] = mapped_column(default=0)
    items_total: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(NulFreeText)
    flow_run_id: Mapped[str | None] = mapped_column(NulFreeString(36))


class VideoEvent(Base):
    """The history of a video: status changes, review decisions, plan changes."""

    __tablename__ = "video_events"
    __table_args__ = (Index("ix_video_events_video_seq", "video_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(NulFreeString(30))
    status: Mapped[str | None] = mapped_column(NulFreeString(40))
    actor: Mapped[str | None] = mapped_column(NulFreeString(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScriptExecution(Base):
    """One script run: what went in, what came out, how it ended."""

    __tablename__ = "script_executions"
    __table_args__ = (Index("ix_script_executions_script_started", "script", "started_at"),)

    id: Mapped[str] = mapped_column(NulFreeString(36), primary_key=True)
    script: Mapped[str] = mapped_column(NulFreeString(200))
    status: Mapped[str] = mapped_column(NulFreeString(20), default="pending")
    label: Mapped[str | None] = mapped_column(NulFreeString(300))
    input: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    args: Mapped[list[Any]] = mapped_column(default=list)
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    stdout: Mapped[str] = mapped_column(NulFreeText, default="")
    stderr: Mapped[str] = mapped_column(NulFreeText, default="")
    stdout_spill: Mapped[str | None] = mapped_column(NulFreeString(1000))
    stderr_spill: Mapped[str | None] = mapped_column(NulFreeString(1000))
    exit_code: Mapped[int | None]
    duration_ms: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(NulFreeText)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    flow_run_id: Mapped[str | None] = mapped_column(NulFreeString(36), index=True)
    task_run_id: Mapped[str | None] = mapped_column(NulFreeString(36))
    requested_by: Mapped[str | None] = mapped_column(NulFreeString(200))  # who asked (a trial run)
    video_id: Mapped[int | None] = mapped_column(
        ForeignKey("videos.id", ondelete="SET NULL"), index=True
    )


class UploadSession(Base):
    """A video's upload to a publisher: the session, the bytes it confirmed, what it made.

    Recorded before the first byte goes out and advanced as the publisher confirms bytes,
    so a run that dies resumes the same session; ``remote_id`` set means the upload is done
    (never upload that video again). ``steps`` records the calls after it (thumbnail,
    captions, playlist) that are done.
    """

    __tablename__ = "upload_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), unique=True)
    publisher: Mapped[str] = mapped_column(NulFreeString(32))
    session_url: Mapped[str | None] = mapped_column(NulFreeText)
    bytes_confirmed: Mapped[int] = mapped_column(BigInteger, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(NulFreeString(64))
    remote_id: Mapped[str | None] = mapped_column(NulFreeString(64))  # the YouTube video id
    state: Mapped[str] = mapped_column(NulFreeString(20), default="created")
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sessions_started: Mapped[int] = mapped_column(default=0)  # sessions opened (404: a new one)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
