"""answers record whether they agreed with the measured evidence

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite batch mode rebuilds the table (see 0006).
    op.add_column("answers", sa.Column("evidence_agreed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("answers", "evidence_agreed")
