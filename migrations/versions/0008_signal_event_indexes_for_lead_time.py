"""signal event indexes for lead time

The lead time looks up, per deployment, the push whose head is the deployed sha, and then the
changes pushed between two such pushes (bot/db/signal_metrics.py): one index for each lookup.
Only changes have ``head`` and ``pushed_at``; the other rows have NULL there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_signal_events_source_head", "signal_events", ["source_id", "head", "pushed_at"])
    op.create_index("ix_signal_events_source_type_pushed_at", "signal_events", ["source_id", "type", "pushed_at", "at"])


def downgrade() -> None:
    op.drop_index("ix_signal_events_source_type_pushed_at", table_name="signal_events")
    op.drop_index("ix_signal_events_source_head", table_name="signal_events")
