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

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.db.medians import median_time_to_close
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
    p50 = None
    if resolved:
        span = median_time_to_close(dialect, sources, opened=FIRING, closed=RESOLVED, since=since, now=now)
        p50 = session.scalar(span)
    return AlertFigures(fired, resolved, None if p50 is None else float(p50), by_category(counts))
