"""calls keep the STIR/SHAKEN verdict; callers' recent calls are counted by an index;
voicemail tickets are leased to one sender

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as calls:
        calls.add_column(sa.Column("stir_verstat", sa.String(64)))
    op.create_index("ix_calls_caller_created_at", "calls", ["caller", "created_at"])
    with op.batch_alter_table("voicemails") as voicemails:
        voicemails.add_column(sa.Column("mailing_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("voicemails") as voicemails:
        voicemails.drop_column("mailing_until")
    op.drop_index("ix_calls_caller_created_at", table_name="calls")
    with op.batch_alter_table("calls") as calls:
        calls.drop_column("stir_verstat")
