"""What a team's alerts (Prometheus Alertmanager, or alert events from any source) say: how many
fired and resolved in a window, how long they took to resolve, and per category (the source's
alert label: drift, model_quality, service, ...) whether alerting of that kind is seen working.

The figures come from ``bot/db/alert_metrics.py``; the levels they support are in
``bot/domain/delivery_metrics.py`` beside the other metrics'.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DRIFT = "drift"
MODEL_QUALITY = "model_quality"
SERVICE = "service"
MODEL_CATEGORIES = (DRIFT, MODEL_QUALITY)  # the model alerts, counted apart from the service ones
QUIET_LOOKBACK_DAYS = 365  # a category seen this far back but silent in the window is "quiet"


class AlertingBand(StrEnum):
    """Whether a category of alerts is seen working in the window."""

    RESOLVED = "fired and resolved"  # alerts of the kind fired, and at least one was resolved
    FIRING = "fired, none resolved"  # they fired, and none was resolved (ignored, or resolutions not sent)
    QUIET = "quiet"  # seen in the year before, none in the window


@dataclass(frozen=True)
class CategoryAlerts:
    """One category's alerts in the window: fired (started) and resolved (ended). A category seen
    in the ``QUIET_LOOKBACK_DAYS`` but not in the window has both at 0."""

    category: str
    fired: int = 0
    resolved: int = 0

    @property
    def band(self) -> AlertingBand:
        return alerting_band(self.fired, self.resolved)


def alerting_band(fired: int, resolved: int) -> AlertingBand:
    # A resolution in the window may end an alert that fired before it: resolved counts alone.
    if resolved:
        return AlertingBand.RESOLVED
    return AlertingBand.FIRING if fired else AlertingBand.QUIET


@dataclass(frozen=True)
class AlertFigures:
    """A channel's alerts as the database counts them (``bot/db/alert_metrics.py``)."""

    fired: int = 0
    resolved: int = 0
    time_to_resolve_seconds_p50: float | None = None
    by_category: tuple[CategoryAlerts, ...] = ()


def by_category(rows: Iterable[tuple[str | None, bool, int]]) -> tuple[CategoryAlerts, ...]:
    """Per category, sorted by name: rows of (category, resolved?, count in the window). A
    category with only zero counts was seen before the window (quiet). Alerts without a
    category count in the totals only."""
    fired: dict[str, int] = {}
    resolved: dict[str, int] = {}
    for category, is_resolution, count in rows:
        if category is None:
            continue
        fired.setdefault(category, 0)
        resolved.setdefault(category, 0)
        (resolved if is_resolution else fired)[category] += count
    return tuple(CategoryAlerts(c, fired[c], resolved[c]) for c in sorted(fired))
