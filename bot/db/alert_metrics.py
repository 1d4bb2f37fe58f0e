"""A channel's alerts, aggregated in SQL: one statement for the counts, one more for the median
time to resolve when any alert was resolved in the window.

- fired: alerts whose firing (start) is in the window; resolved: resolutions in the window.
- per category: the same counts for each category seen in the ``QUIET_LOOKBACK_DAYS`` up to
  now (a category seen only before the window is quiet), read from the firings and resolutions
  alike, so a resolution whose firing fell before the window still counts for its category.
- time to resolve: the median of (resolved - firing) over the alerts resolved in the window,
  firing and resolution matched by external id within a source (as incidents' time to restore).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from bot.db.medians import median, seconds_between
from bot.db.models import SignalEventRow
from bot.domain.alert_metrics import QUIET_LOOKBACK_DAYS, AlertFigures, by_category
from bot.domain.signals import SignalType

E = SignalEventRow
FIRING = SignalType.ALERT_FIRING.value
RESOLVED = SignalType.ALERT_RESOLVED.value


def channel_alerts(session: Session, sources: Any, since: datetime, now: datetime) -> AlertFigures:
    """The alerts of the ``sources`` (a subquery of source ids) in the window ``since``..``now``."""
    dialect = session.get_bind().dialect.name
    seen_since = min(since, now - timedelta(days=QUIET_LOOKBACK_DAYS))
    in_window = func.sum(case((E.at >= since, 1), else_=0))
    rows = session.execute(
        select(E.category, E.type, in_window)
        .where(E.source_id.in_(sources), E.type.in_((FIRING, RESOLVED)), E.at >= seen_since, E.at <= now)
        .group_by(E.category, E.type)
    ).all()
    counts = [(category, kind == RESOLVED, int(n or 0)) for category, kind, n in rows]
    fired = sum(n for _, resolution, n in counts if not resolution)
    resolved = sum(n for _, resolution, n in counts if resolution)
    p50 = session.scalar(_time_to_resolve(dialect, sources, since, now)) if resolved else None
    return AlertFigures(fired, resolved, None if p50 is None else float(p50), by_category(counts))


def _time_to_resolve(dialect: str, sources: Any, since: datetime, now: datetime) -> Any:
    firing = aliased(E, name="firing")
    took = seconds_between(dialect, E.at, firing.at)
    durations = (
        select(took.label("v"))
        .join(
            firing,
            and_(firing.source_id == E.source_id, firing.type == FIRING, firing.external_id == E.external_id),
        )
        .where(E.source_id.in_(sources), E.type == RESOLVED, E.at >= since, E.at <= now, took >= 0)
        .subquery("durations")
    )
    return median(dialect, durations)
