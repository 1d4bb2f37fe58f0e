"""workspaces record their Enterprise Grid organisation

An org-wide install's uninstall (or its revoked bot token) names only the organisation: with the
enterprise id on each workspace row, every workspace of the organisation is stopped and its data
purge scheduled, and a reinstall of the organisation calls the purges off. Rows stored before this
revision stay NULL until a request or job from the workspace carries its enterprise id: there is
nothing in the database to backfill them from (an org-wide installation has no team id).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_workspaces_enterprise_id"), ["enterprise_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workspaces_enterprise_id"))
        batch_op.drop_column("enterprise_id")
