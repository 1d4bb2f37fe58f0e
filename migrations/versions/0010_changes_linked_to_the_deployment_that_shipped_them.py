"""changes linked to the deployment that first shipped them; indexes for the model age and the counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime
from bot.domain.lead_time import Deployed, Pushed, first_shipped

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table as this revision leaves it, so the backfill does not depend on the models of later ones.
events = sa.table(
    "signal_events",
    sa.column("id", sa.Integer),
    sa.column("source_id", sa.String),
    sa.column("type", sa.String),
    sa.column("at", UTCDateTime()),
    sa.column("counted", sa.Boolean),
    sa.column("sha", sa.String),
    sa.column("head", sa.String),
    sa.column("pushed_at", UTCDateTime()),
    sa.column("deployed_at", UTCDateTime()),
    sa.column("lead_seconds", sa.Float),
)


def upgrade() -> None:
    op.add_column("signal_events", sa.Column("deployed_at", UTCDateTime(), nullable=True))
    op.add_column("signal_events", sa.Column("lead_seconds", sa.Float(), nullable=True))
    op.create_index(
        "ix_signal_events_source_type_deployed_at", "signal_events", ["source_id", "type", "deployed_at", "lead_seconds"]
    )
    op.create_index("ix_signal_events_source_type_model_at", "signal_events", ["source_id", "type", "model", "at"])
    # covering the window's counts: counted, sha (named as a root cause?) and model without the table
    op.drop_index("ix_signal_events_source_type_at", table_name="signal_events")
    op.create_index(
        "ix_signal_events_source_type_at", "signal_events", ["source_id", "type", "at", "counted", "sha", "model"]
    )
    _backfill(op.get_bind())


def _backfill(bind: sa.Connection) -> None:
    """Link every stored change to the deployment that first shipped it (bot/domain/lead_time.py),
    and keep on each deployment when its sha was first pushed."""
    e = events
    push = e.alias("push")
    for (source_id,) in bind.execute(sa.select(e.c.source_id).distinct()):
        upper = (
            sa.select(sa.func.min(push.c.pushed_at))
            .where(push.c.source_id == source_id, push.c.head == e.c.sha)
            .scalar_subquery()
        )
        deployments = [
            Deployed(r.id, r.at, r.upper)
            for r in bind.execute(
                sa.select(e.c.id, e.c.at, upper.label("upper"))
                .where(e.c.source_id == source_id, e.c.type == "deployment", e.c.counted)
                .order_by(e.c.at, e.c.id)
            )
        ]
        changes = bind.execute(
            sa.select(e.c.id, e.c.pushed_at, e.c.at).where(
                e.c.source_id == source_id, e.c.type == "change", e.c.pushed_at.is_not(None)
            )
        ).all()
        shipped = first_shipped(deployments, (Pushed(r.id, r.pushed_at) for r in changes))
        rows = [
            {"change": r.id, "deployed": shipped[r.id].at, "lead": (shipped[r.id].at - r.at).total_seconds()}
            for r in changes
            if r.id in shipped
        ]
        if rows:
            stmt = (
                e.update()
                .where(e.c.id == sa.bindparam("change"))
                .values(deployed_at=sa.bindparam("deployed"), lead_seconds=sa.bindparam("lead"))
            )
            bind.execute(stmt, rows)
        # a deployment's pushed_at: when its sha was first pushed, the end of its range
        ranges = [{"change": d.id, "pushed": d.upper} for d in deployments if d.upper is not None]
        if ranges:
            bind.execute(e.update().where(e.c.id == sa.bindparam("change")).values(pushed_at=sa.bindparam("pushed")), ranges)


def downgrade() -> None:
    op.drop_index("ix_signal_events_source_type_at", table_name="signal_events")
    op.create_index("ix_signal_events_source_type_at", "signal_events", ["source_id", "type", "at"])
    op.drop_index("ix_signal_events_source_type_model_at", table_name="signal_events")
    op.drop_index("ix_signal_events_source_type_deployed_at", table_name="signal_events")
    with op.batch_alter_table("signal_events") as batch:
        batch.drop_column("lead_seconds")
        batch.drop_column("deployed_at")
