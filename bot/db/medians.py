"""Durations and medians in SQL on both databases, for the metrics modules.

Medians: PostgreSQL's percentile_cont; on SQLite the middle rows of a sort.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, Select, cast, func, select


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
