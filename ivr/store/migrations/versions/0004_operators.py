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
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_by", sa.String(64)),
    )
    op.create_index("ix_announcements_expires_at", "announcements", ["expires_at"])
    # --- agents ---
    op.create_table(
        "agents",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("languages", sa.String(200), nullable=False),
        sa.Column("regions", sa.String(400), nullable=False),
        sa.Column("pin_hash", sa.String(255), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, server_default="offline"),
        sa.Column("state_since", sa.DateTime(timezone=True)),
        sa.Column("line_call", sa.String(34)),
        sa.Column("serving", sa.String(34)),
        sa.Column("wrap_up_until", sa.DateTime(timezone=True)),
        sa.Column("failed_pins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure", sa.String(40)),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agents_line_call", "agents", ["line_call"])
    op.create_table(
        "agent_phones",
        sa.Column("number", sa.String(20), primary_key=True),
        sa.Column("agent", sa.String(64), nullable=False),
    )
    op.create_index("ix_agent_phones_agent", "agent_phones", ["agent"])
    op.create_table(
        "queue_claims",
        sa.Column("queue", sa.String(64), primary_key=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("call_sid", sa.String(34), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("empty_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_queue_claims_agent", "queue_claims", ["agent"])
    op.create_table(
        "ended_lines",
        sa.Column("call_sid", sa.String(34), primary_key=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("calls", sa.Column("agent", sa.String(64)))
    op.add_column("calls", sa.Column("answered_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    # --- agents ---
    with op.batch_alter_table("calls") as calls:
        calls.drop_column("answered_at")
        calls.drop_column("agent")
    op.drop_table("ended_lines")
    op.drop_index("ix_queue_claims_agent", table_name="queue_claims")
    op.drop_table("queue_claims")
    op.drop_index("ix_agent_phones_agent", table_name="agent_phones")
    op.drop_table("agent_phones")
    op.drop_index("ix_agents_line_call", table_name="agents")
    op.drop_table("agents")
    op.drop_index("ix_announcements_expires_at", table_name="announcements")
    op.drop_table("announcements")
    op.drop_table("users")
