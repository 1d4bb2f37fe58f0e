"""A channel's code review figures over the changes merged in a window, in one SQL statement.

A merged change is a ``review_merged`` event in the window; its opening is the ``review_opened``
event and its reviews the ``reviewed`` events of the same source and ``name`` (the pull or merge
request), each found along the (source_id, type, name, at) index. Only reviews up to the merge
count: a review after it did not gate the change. Definitions in bot/domain/review_metrics.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from bot.db.medians import median, seconds_between
from bot.db.models import SignalEventRow as E
from bot.domain.review_metrics import ReviewFigures
from bot.domain.signals import SignalType

OPENED = SignalType.REVIEW_OPENED.value
REVIEWED = SignalType.REVIEWED.value
MERGED = SignalType.REVIEW_MERGED.value


def review_figures(session: Session, sources: Any, since: datetime, now: datetime) -> ReviewFigures:
    """The figures of the changes that ``sources`` (a select of source ids) merged in since..now."""
    dialect = session.get_bind().dialect.name
    opened, review = aliased(E, name="opened"), aliased(E, name="review")
    opened_at = (
        select(func.min(opened.at))
        .where(opened.source_id == E.source_id, opened.type == OPENED, opened.name == E.name)
        .scalar_subquery()
    )
    first_review = (
        select(func.min(review.at))
        .where(review.source_id == E.source_id, review.type == REVIEWED, review.name == E.name, review.at <= E.at)
        .scalar_subquery()
    )
    merged = (
        select(E.at.label("merged_at"), opened_at.label("opened_at"), first_review.label("reviewed_at"))
        .where(E.source_id.in_(sources), E.type == MERGED, E.at >= since, E.at <= now)
        .cte("merged")
    )
    waited = seconds_between(dialect, merged.c.reviewed_at, merged.c.opened_at)
    took = seconds_between(dialect, merged.c.merged_at, merged.c.opened_at)
    # A review or merge stamped before its opening (clocks of different systems) is left out.
    reviews = select(waited.label("v")).where(and_(merged.c.reviewed_at.is_not(None), waited >= 0)).subquery("waits")
    merges = select(took.label("v")).where(and_(merged.c.opened_at.is_not(None), took >= 0)).subquery("merges")
    row = session.execute(
        select(
            select(func.count()).select_from(merged).scalar_subquery().label("merged"),
            select(func.count(merged.c.reviewed_at)).scalar_subquery().label("reviewed"),
            median(dialect, reviews).scalar_subquery().label("review_p50"),
            median(dialect, merges).scalar_subquery().label("merge_p50"),
        )
    ).one()
    return ReviewFigures(
        changes_merged=int(row.merged or 0),
        reviewed_before_merge=int(row.reviewed or 0),
        review_seconds_p50=None if row.review_p50 is None else float(row.review_p50),
        merge_seconds_p50=None if row.merge_p50 is None else float(row.merge_p50),
    )
