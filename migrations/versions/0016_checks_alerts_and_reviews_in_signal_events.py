"""checks, alerts and reviews in signal events; check patterns and the alert label per source

A check run has a name, a status and maybe a value; an alert a name and what it concerns; a
review event the pull or merge request it belongs to. Rows stored before stay NULL there (no
earlier event type uses them). Sources get the workflow names whose runs are checks (none by
default) and Alertmanager's label that says what an alert concerns (``compass_kind``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signal_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("value", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_signal_events_source_type_name_at", ["source_id", "type", "name", "at"], unique=False
        )
        batch_op.create_index(
            "ix_signal_events_source_type_at_status",
            ["source_id", "type", "at", "category", "status", "model", "version"],
            unique=False,
        )
    with op.batch_alter_table("signal_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_patterns", sa.String(length=512), server_default=sa.text("''"), nullable=False))
        batch_op.add_column(
            sa.Column("alert_label", sa.String(length=64), server_default=sa.text("'compass_kind'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("signal_sources", schema=None) as batch_op:
        batch_op.drop_column("alert_label")
        batch_op.drop_column("check_patterns")
    with op.batch_alter_table("signal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_signal_events_source_type_at_status")
        batch_op.drop_index("ix_signal_events_source_type_name_at")
        batch_op.drop_column("category")
        batch_op.drop_column("value")
        batch_op.drop_column("status")
        batch_op.drop_column("name")
