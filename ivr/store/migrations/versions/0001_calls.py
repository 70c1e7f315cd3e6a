"""calls: one row per call, for agents (reason, reference) and status callbacks

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_sid", sa.String(34), primary_key=True),
        sa.Column("caller", sa.String(64), nullable=False, server_default=""),
        sa.Column("region", sa.String(24)),
        sa.Column("language", sa.String(16)),
        sa.Column("reason", sa.String(16)),
        sa.Column("transaction_ref", sa.String(32)),
        sa.Column("queue", sa.String(64)),
        sa.Column("queued_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16)),
        sa.Column("duration", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_calls_queue_queued_at", "calls", ["queue", "queued_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_queue_queued_at", table_name="calls")
    op.drop_table("calls")
