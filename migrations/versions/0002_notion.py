"""notion board state, per-video sync leases and pending card creates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notion_boards",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("database_id", sa.String(length=64), nullable=True),
        sa.Column("data_source_id", sa.String(length=64), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notion_lease", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("notion_lease_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("notion_create_sent_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("notion_create_sent_at")
        batch_op.drop_column("notion_lease_until")
        batch_op.drop_column("notion_lease")
    op.drop_table("notion_boards")
