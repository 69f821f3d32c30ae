"""unattended runs: one live run per video, recovery, retries later, who ran a script

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FINAL = "('approved', 'rejected', 'review_expired')"


def upgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_key", sa.String(length=420), nullable=True))
        batch_op.add_column(sa.Column("run_lease", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("run_lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("run_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("run_pid", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_videos_active_key", ["active_key"])
    # One unfinished video per channel and project: the newest keeps the key.
    op.execute(
        f"""
        UPDATE videos SET active_key = CAST(channel_id AS VARCHAR) || ':' || project_id
        WHERE status NOT IN {FINAL} AND id = (
            SELECT MAX(v2.id) FROM videos v2
            WHERE v2.channel_id = videos.channel_id AND v2.project_id = videos.project_id
              AND v2.status NOT IN {FINAL}
        )
        """
    )
    with op.batch_alter_table("script_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("script_executions", schema=None) as batch_op:
        batch_op.drop_column("requested_by")
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_constraint("uq_videos_active_key", type_="unique")
        for column in (
            "first_failed_at", "next_attempt_at", "attempts", "run_pid", "run_host", "run_started_at",
            "run_lease_until", "run_lease", "active_key",
        ):  # fmt: skip
            batch_op.drop_column(column)
