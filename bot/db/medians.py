"""Durations and medians in SQL on both databases, for the metrics modules.

Medians: PostgreSQL's percentile_cont; on SQLite the middle rows of a sort.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, and_, cast, func, select
from sqlalchemy.orm import aliased

from bot.db.models import SignalEventRow


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[float]:
    """later - earlier in seconds. SQLite keeps datetimes as ISO text, which julianday reads."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def median(dialect: str, values: Any) -> Select[Any]:
    """The median of a subquery's column ``v``: the middle value, or the mean of the two middle ones."""
    if dialect != "sqlite":
        return select(func.percentile_cont(0.5).within_group(values.c.v))
    # SQLite has no ordered-set aggregates: the middle one or two rows of the sorted values. A
    # sort with LIMIT/OFFSET keeps half the rows; a ROW_NUMBER window sorts and numbers them all
    # (about twice as slow at 100k values).
    n = select(func.count()).select_from(values).scalar_subquery()
    middle = select(values.c.v).order_by(values.c.v).limit(2 - n % 2).offset((n - 1) // 2).subquery("middle")
    return select(func.avg(middle.c.v))


def median_time_to_close(
    dialect: str, sources: Any, *, opened: str, closed: str, since: datetime, now: datetime
) -> Select[Any]:
    """The median of (closed - opened) in seconds over the ``closed`` events of the window, each matched
    to the ``opened`` event of the same source and external id (an incident and its resolution, an
    alert firing and resolved); negative spans are left out."""
    E = SignalEventRow
    start = aliased(E, name="opened")
    took = seconds_between(dialect, E.at, start.at)
    durations = (
        select(took.label("v"))
        .join(start, and_(start.source_id == E.source_id, start.type == opened, start.external_id == E.external_id))
        .where(E.source_id.in_(sources), E.type == closed, E.at >= since, E.at <= now, took >= 0)
        .subquery("durations")
    )
    return median(dialect, durations)
