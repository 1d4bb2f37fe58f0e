"""question hashes per answer, and the question ids of the bank each assessment is on

An unfinished assessment keeps the answers whose question did not change when the bank is
edited (bot/domain/rebase.py). Rows from before this revision get NULL in both columns: the
app fills them in from the bank in use the next time it touches an unfinished assessment whose
whole-bank hash still matches (every answer was then given to the questions as they are now).
When the bank has changed by then, the answers without a hash are dropped and asked again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bank_questions", sa.Text(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that copies and drops the table, and dropping assessments
    # with foreign keys on would cascade to every answer. ALTER TABLE ... DROP COLUMN (SQLite
    # 3.35 and later) keeps the rows.
    op.drop_column("assessments", "bank_questions")
    op.drop_column("answers", "question_hash")
