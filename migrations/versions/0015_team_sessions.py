"""team sessions: facilitated sessions in a channel, their private votes, agreed levels and actions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("live_channel", sa.String(length=32), nullable=True),
        sa.Column("facilitator", sa.String(length=64), nullable=True),
        sa.Column("dimension_id", sa.String(length=64), nullable=True),
        sa.Column("question_ids", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("opening_ts", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("live_url", sa.Text(), nullable=True),
        sa.Column("live_url_at", bot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_claimed_at", bot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", bot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", bot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("summary_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_team_sessions_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_sessions")),
        sa.UniqueConstraint("workspace_id", "live_channel", name="uq_team_sessions_live_channel"),
    )
    op.create_index("ix_team_sessions_channel", "team_sessions", ["workspace_id", "channel_id", "ended_at"])
    op.create_table(
        "session_votes",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("voted_at", bot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["team_sessions.id"], name=op.f("fk_session_votes_session_id_team_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_id", "question_id", "user_id", name=op.f("pk_session_votes")),
    )
    op.create_table(
        "session_outcomes",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("mixed", sa.Boolean(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("agreed_at", bot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["team_sessions.id"],
            name=op.f("fk_session_outcomes_session_id_team_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "question_id", name=op.f("pk_session_outcomes")),
    )
    op.create_table(
        "session_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", bot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_session_actions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["team_sessions.id"],
            name=op.f("fk_session_actions_session_id_team_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_actions")),
    )
    op.create_index("ix_session_actions_channel", "session_actions", ["workspace_id", "channel_id", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_session_actions_channel", table_name="session_actions")
    op.drop_table("session_actions")
    op.drop_table("session_outcomes")
    op.drop_table("session_votes")
    op.drop_index("ix_team_sessions_channel", table_name="team_sessions")
    op.drop_table("team_sessions")
