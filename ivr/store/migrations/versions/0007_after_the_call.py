"""after_the_call: the agent's disposition and the caller's survey kept with each call; what
routing needs of each agent (idle since when, last given a caller, calls taken, a wake on its
way) and of each caller (since when Twilio has them in its queue)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CALL_COLUMNS = (
    sa.Column("in_queue_at", sa.DateTime(timezone=True)),
    sa.Column("disposition", sa.String(32)),
    sa.Column("disposed_at", sa.DateTime(timezone=True)),
    sa.Column("surveyed_at", sa.DateTime(timezone=True)),
    sa.Column("rating", sa.Integer),
    sa.Column("comment_sid", sa.String(34)),
    sa.Column("comment_url", sa.String(300)),
    sa.Column("comment_duration", sa.Integer),
)
AGENT_COLUMNS = (
    sa.Column("available_since", sa.DateTime(timezone=True)),
    sa.Column("offered_at", sa.DateTime(timezone=True)),
    sa.Column("woken_at", sa.DateTime(timezone=True)),
    sa.Column("woken_for", sa.String(34)),
    sa.Column("calls_taken", sa.Integer, nullable=False, server_default="0"),
)


def upgrade() -> None:
    with op.batch_alter_table("calls") as calls:
        for column in CALL_COLUMNS:
            calls.add_column(column)
    with op.batch_alter_table("agents") as agents:
        for column in AGENT_COLUMNS:
            agents.add_column(column)
    # Agents logged in across the upgrade: available since their state says.
    op.execute("UPDATE agents SET available_since = state_since WHERE state = 'available'")


def downgrade() -> None:
    # Skill levels ("zh-CN:5", "zh-CN@hk:2") are unknown before 0007: plain languages again.
    connection = op.get_bind()
    for name, languages in connection.execute(sa.text("SELECT name, languages FROM agents")):
        plain = (entry.partition(":")[0] for entry in languages.split(","))
        kept = ",".join(dict.fromkeys(entry for entry in plain if entry and "@" not in entry))
        update = sa.text("UPDATE agents SET languages = :languages WHERE name = :name")
        connection.execute(update, {"languages": kept, "name": name})
    with op.batch_alter_table("agents") as agents:
        for name in reversed([column.name for column in AGENT_COLUMNS]):
            agents.drop_column(name)
    with op.batch_alter_table("calls") as calls:
        for name in reversed([column.name for column in CALL_COLUMNS]):
            calls.drop_column(name)
