"""Team targets: one per dimension per channel (functions take a session and never commit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import TeamTarget
from bot.db.sql import rowcount
from bot.domain.targets import Quarter, Target


def _target(row: TeamTarget) -> Target:
    by = None
    if row.due_quarter:
        year, number = row.due_quarter.split("-Q")
        by = Quarter(int(year), int(number))
    return Target(row.dimension_id, row.level, by, row.baseline, row.set_by, row.set_at)


def targets(session: Session, ws_id: int, channel_id: str) -> list[Target]:
    rows = session.scalars(
        select(TeamTarget)
        .where(TeamTarget.workspace_id == ws_id, TeamTarget.channel_id == channel_id)
        .order_by(TeamTarget.id)
    )
    return [_target(row) for row in rows]


def save_target(
    session: Session,
    ws_id: int,
    channel_id: str,
    *,
    dimension_id: str,
    level: int,
    by: Quarter | None,
    baseline: float | None,
    set_by: str,
    now: datetime,
) -> Target:
    """Set the channel's target for a dimension, replacing an earlier one (and its baseline)."""
    row = session.scalars(
        select(TeamTarget).where(
            TeamTarget.workspace_id == ws_id,
            TeamTarget.channel_id == channel_id,
            TeamTarget.dimension_id == dimension_id,
        )
    ).one_or_none()
    if row is None:
        row = TeamTarget(workspace_id=ws_id, channel_id=channel_id, dimension_id=dimension_id)
        session.add(row)
    row.level = level
    row.due_quarter = by.label if by else None
    row.baseline = baseline
    row.set_by = set_by
    row.set_at = now
    session.flush()
    return _target(row)


def delete_target(session: Session, ws_id: int, channel_id: str, dimension_id: str) -> bool:
    result = session.execute(
        delete(TeamTarget).where(
            TeamTarget.workspace_id == ws_id,
            TeamTarget.channel_id == channel_id,
            TeamTarget.dimension_id == dimension_id,
        )
    )
    return rowcount(result) > 0
