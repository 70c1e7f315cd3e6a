"""operators: wallboard users, announcements per region and language, agents and their states

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- wallboard users ---
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # --- announcements and live queue modes ---
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(24), nullable=False),
        sa.Column("language", sa.String(16)),  # None: every language of the region
        sa.Column("kind", sa.String(16), nullable=False),  # message, closed, callback-only
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_announcements_expires_at", "announcements", ["expires_at"])
    # --- agents ---


def downgrade() -> None:
    # --- agents ---
    op.drop_index("ix_announcements_expires_at", table_name="announcements")
    op.drop_table("announcements")
    op.drop_table("users")
