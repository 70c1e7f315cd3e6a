"""wallboard sessions: one row per sign-in, deleted on sign-out or a new password

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallboard_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wallboard_sessions_user_name", "wallboard_sessions", ["user_name"])


def downgrade() -> None:
    op.drop_index("ix_wallboard_sessions_user_name", table_name="wallboard_sessions")
    op.drop_table("wallboard_sessions")
