"""ORM tables. The schema itself is owned by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
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

__all__ = [
    "Base",
    "Channel",
    "NotionBoardState",
    "ScriptExecution",
    "StepRun",
    "Video",
    "VideoEvent",
    "utcnow",
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


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(AsyncAttrs, DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, datetime: UTCDateTime}


class Channel(Base):
    """A YouTube channel: its own outputs, credentials and board (configured in blocks)."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Video(Base):
    """The pipeline's unit of work: one plan on its way to a reviewed MP4."""

    __tablename__ = "videos"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    manifest_source: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(40), index=True, default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    step_completion: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    target_s: Mapped[float] = mapped_column(default=7200.0)
    over_target: Mapped[bool] = mapped_column(default=False)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    budget_usd: Mapped[float | None]
    output_path: Mapped[str | None] = mapped_column(String(1000))
    flow_run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    review_round: Mapped[int] = mapped_column(default=0)
    notion_page_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    status_seq: Mapped[int] = mapped_column(default=0)
    notion_synced_seq: Mapped[int] = mapped_column(default=0)
    notion_error: Mapped[str | None] = mapped_column(Text)
    notion_lease: Mapped[str | None] = mapped_column(String(36))
    notion_lease_until: Mapped[datetime | None]
    notion_create_sent_at: Mapped[datetime | None]  # a card create whose answer is not recorded
    # "<channel id>:<project id>" while unfinished, NULL once final: UNIQUE, so two runs of
    # one plan started together open one video.
    active_key: Mapped[str | None] = mapped_column(String(420), unique=True)
    run_lease: Mapped[str | None] = mapped_column(String(64))  # the live run working on it
    run_lease_until: Mapped[datetime | None]  # renewed while that run is alive
    run_started_at: Mapped[datetime | None]  # when that run took the video
    run_host: Mapped[str | None] = mapped_column(String(255))  # where that run's process is
    run_pid: Mapped[int | None]  # and its pid: a dead process on this host frees the video
    attempts: Mapped[int] = mapped_column(default=0)  # automatic re-runs (recover, retries)
    next_attempt_at: Mapped[datetime | None]  # retry_scheduled: when the next try starts
    first_failed_at: Mapped[datetime | None]  # the first transient failure of this streak
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotionBoardState(Base):
    """What we learnt about a Notion board: its data source, and when it may be written again."""

    __tablename__ = "notion_boards"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    database_id: Mapped[str | None] = mapped_column(String(64))
    data_source_id: Mapped[str | None] = mapped_column(String(64))
    blocked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StepRun(Base):
    """One run of one step for one video: items done/total, duration and cost."""

    __tablename__ = "step_runs"
    __table_args__ = (Index("ix_step_runs_video_step", "video_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="running")
    items_done: Mapped[int] = mapped_column(default=0)
    items_cached: Mapped[int] = mapped_column(default=0)
    items_total: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))


class VideoEvent(Base):
    """The history of a video: status changes, review decisions, plan changes."""

    __tablename__ = "video_events"
    __table_args__ = (Index("ix_video_events_video_seq", "video_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScriptExecution(Base):
    """One script run: what went in, what came out, how it ended."""

    __tablename__ = "script_executions"
    __table_args__ = (Index("ix_script_executions_script_started", "script", "started_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    script: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    label: Mapped[str | None] = mapped_column(String(300))
    input: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    args: Mapped[list[Any]] = mapped_column(default=list)
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    stdout_spill: Mapped[str | None] = mapped_column(String(1000))
    stderr_spill: Mapped[str | None] = mapped_column(String(1000))
    exit_code: Mapped[int | None]
    duration_ms: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    flow_run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    task_run_id: Mapped[str | None] = mapped_column(String(36))
    requested_by: Mapped[str | None] = mapped_column(String(200))  # who asked (a trial run)
    video_id: Mapped[int | None] = mapped_column(
        ForeignKey("videos.id", ondelete="SET NULL"), index=True
    )
