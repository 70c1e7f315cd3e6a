"""calls gain their path, outcome and queue result; callbacks and voicemails

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("calls") as calls:
        calls.add_column(sa.Column("path", sa.Text, nullable=False, server_default=""))
        calls.add_column(sa.Column("last_step", sa.String(40)))
        calls.add_column(
            sa.Column("outcome", sa.String(16), nullable=False, server_default="self-served")
        )
        calls.add_column(sa.Column("outcome_rank", sa.Integer, nullable=False, server_default="0"))
        calls.add_column(sa.Column("queue_result", sa.String(32)))
        calls.add_column(sa.Column("queue_time", sa.Integer))
        calls.add_column(sa.Column("left_queue_at", WHEN))
        calls.add_column(sa.Column("ended_at", WHEN))
    # Calls from before: what is known of them. A queued call that ended was abandoned or
    # bridged, which was not recorded; "queued" is the honest most that can be said.
    op.execute("UPDATE calls SET outcome = 'queued', outcome_rank = 1 WHERE queued_at IS NOT NULL")
    op.create_index("ix_calls_queue_left_queue_at", "calls", ["queue", "left_queue_at"])
    op.create_index("ix_calls_created_at", "calls", ["created_at"])

    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_sid", sa.String(34), nullable=False, unique=True),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("region", sa.String(24), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16)),
        sa.Column("transaction_ref", sa.String(32)),
        sa.Column("waiting_since", WHEN, nullable=False),
        sa.Column("booked_at", WHEN, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("claimed_until", WHEN),
        sa.Column("last_call_sid", sa.String(34)),
        sa.Column("last_result", sa.String(16)),
        sa.Column("note_due", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("note_sent_at", WHEN),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_index("ix_callbacks_due", "callbacks", ["status", "region", "next_attempt_at"])
    op.create_index("ix_callbacks_number_booked_at", "callbacks", ["number", "booked_at"])
    op.create_index("ix_callbacks_region_booked_at", "callbacks", ["region", "booked_at"])

    op.create_table(
        "voicemails",
        sa.Column("recording_sid", sa.String(34), primary_key=True),
        sa.Column("call_sid", sa.String(34), nullable=False, index=True),
        sa.Column("recording_url", sa.String(300), nullable=False),
        sa.Column("duration", sa.Integer, nullable=False, server_default="0"),
        sa.Column("caller", sa.String(64), nullable=False, server_default=""),
        sa.Column("region", sa.String(24), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16)),
        sa.Column("transaction_ref", sa.String(32)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("emailed_at", WHEN),
    )
    op.create_index("ix_voicemails_created_at", "voicemails", ["created_at"])


def downgrade() -> None:
    op.drop_table("voicemails")
    op.drop_table("callbacks")
    op.drop_index("ix_calls_created_at", table_name="calls")
    op.drop_index("ix_calls_queue_left_queue_at", table_name="calls")
    with op.batch_alter_table("calls") as calls:
        for column in (
            "ended_at",
            "left_queue_at",
            "queue_time",
            "queue_result",
            "outcome_rank",
            "outcome",
            "last_step",
            "path",
        ):
            calls.drop_column(column)
