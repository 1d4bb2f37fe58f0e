"""A channel's checks over a window, per check name, in one SQL statement.

Per name (over all the channel's sources): the runs in ``now - days <= at <= now``, how many
passed, and the latest run's time, status and value. The runs are numbered newest first within
each name (a window function, on SQLite 3.25+ and PostgreSQL alike), counted over the same
partition, and the first of each kept: one pass over the (source_id, type, name, at) index range
of each source, whatever the number of names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.db.models import SignalEventRow, SignalSource
from bot.domain.check_metrics import CheckFigures
from bot.domain.ingest.checks import PASSED
from bot.domain.signals import SignalType

E = SignalEventRow
CHECK = SignalType.CHECK.value
MAX_CHECKS = 100  # names per channel at most (those with the most runs): a digest shows a few, not thousands


def channel_checks(
    session: Session, channel_id: str, now: datetime, days: int = 90, limit: int = MAX_CHECKS
) -> dict[str, CheckFigures]:
    """The channel's checks that ran in the window, by name, most runs first (then the latest)."""
    sources = select(SignalSource.id).where(SignalSource.channel_id == channel_id)
    return checks_of(session, sources, now - timedelta(days=days), now, limit)


def checks_of(
    session: Session, sources: Any, since: datetime, now: datetime, limit: int = MAX_CHECKS
) -> dict[str, CheckFigures]:
    """``channel_checks`` for a subquery of source ids (shared with bot/db/signal_metrics.py)."""
    ranked = (
        select(
            E.name,
            E.at,
            E.status,
            E.value,
            func.row_number().over(partition_by=E.name, order_by=(E.at.desc(), E.id.desc())).label("place"),
            func.count().over(partition_by=E.name).label("runs"),
            func.sum(case((E.status == PASSED, 1), else_=0)).over(partition_by=E.name).label("passed"),
        )
        .where(E.source_id.in_(sources), E.type == CHECK, E.name.is_not(None), E.at >= since, E.at <= now)
        .subquery("ranked")
    )
    stmt = (
        select(ranked)
        .where(ranked.c.place == 1)
        .order_by(ranked.c.runs.desc(), ranked.c.at.desc(), ranked.c.name)
        .limit(limit)
    )
    return {
        row.name: CheckFigures(
            name=row.name,
            runs=int(row.runs),
            passed=int(row.passed or 0),
            last_at=row.at,
            last_status=row.status or "",
            last_value=None if row.value is None else float(row.value),
        )
        for row in session.execute(stmt)
    }
