"""Delivery metrics of one team channel over a window, their DORA bands and the levels each band supports.

The figures are computed elsewhere (``bot/db/signal_metrics.py``, in SQL); this module only names
them, puts each into its band and says which maturity levels (1-4) a band is evidence for.

Bands follow DORA's Quick Check answers (dora.dev, ``metrics_question_responses.json``) and Four
Keys' buckets (its METRICS.md, "categorized per the 2019 State of DevOps Report"), as quoted in
/work/shared/design/delivery-signals.md §4.2-4.3:

- deployment frequency: on demand (multiple deploys per day) / between once per day and once per
  week / ... once per week and once per month / ... once per month and once every six months /
  less than once per six months;
- change lead time and failed deployment recovery time: less than one hour / less than one day /
  one day to one week / one week to one month / one to six months / more than six months
  (Four Keys: < 24 h, < 168 h, < 730 h, < 6 × 730 h);
- change failure rate: Four Keys' 0-15 % / 16-45 % / 46 % and more. DORA's cluster tables give one
  typical rate per cluster rather than bands, and the 2024 table is not monotonic (High 20 %,
  Medium 10 %), so it cannot be turned into thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.domain.alert_metrics import (
    DRIFT,
    MODEL_CATEGORIES,
    MODEL_QUALITY,
    SERVICE,
    AlertFigures,
    AlertingBand,
    CategoryAlerts,
)
from bot.domain.check_metrics import CheckFigures
from bot.domain.model_documentation import DOCUMENTATION_LEVELS, TRACKING_LEVELS, ShareBand, share_band
from bot.domain.review_metrics import (
    REVIEW_TIME_LEVELS,
    REVIEWED_SHARE_LEVELS,
    ReviewedShareBand,
    ReviewFigures,
    ReviewTimeBand,
    review_time_band,
    reviewed_share_band,
)

HOURS_PER_MONTH = 730.0  # Four Keys' month: 365 × 24 / 12
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
DAYS_PER_WEEK = 7.0


class Metric(StrEnum):
    DEPLOYMENT_FREQUENCY = "deployment_frequency"
    LEAD_TIME = "lead_time"
    CHANGE_FAILURE_RATE = "change_failure_rate"
    TIME_TO_RESTORE = "time_to_restore"
    TRAINING_CADENCE = "training_cadence"  # Compass's own, not DORA's (see training_band)
    REVIEWED_SHARE = "reviewed_share"  # Compass's own: bot/domain/review_metrics.py
    REVIEW_TIME = "review_time"  # time to first review, Compass's own
    MODEL_DOCUMENTATION = "model_documentation"  # share of registered versions documented (model_documentation.py)
    MODEL_TRACKING = "model_tracking"  # share of registered versions linked to a tracked run
    ALERT_RESOLUTION = "alert_resolution"  # median time from an alert firing to its resolution
    SERVICE_ALERTING = "service_alerting"  # alerts of the category "service" (see AlertingBand)
    DRIFT_ALERTING = "drift_alerting"
    MODEL_QUALITY_ALERTING = "model_quality_alerting"


class DeploymentFrequencyBand(StrEnum):
    ON_DEMAND = "on-demand"  # more than once per day
    DAILY = "daily"  # between once per week and once per day
    WEEKLY = "weekly"  # between once per month and once per week
    MONTHLY = "monthly"  # between once every six months and once per month
    FEWER = "fewer"  # less than once every six months


class DurationBand(StrEnum):
    """Lead time and time to restore share DORA's answer bands."""

    HOUR = "under an hour"
    DAY = "under a day"
    WEEK = "under a week"
    MONTH = "under a month"
    HALF_YEAR = "under six months"
    LONGER = "six months or more"


class ChangeFailureBand(StrEnum):
    LOW = "0-15%"
    MEDIUM = "16-45%"
    HIGH = "46% or more"


class TrainingBand(StrEnum):
    """Training runs per month per model; no DORA source, Compass's own reading of a cadence."""

    WEEKLY = "weekly or more"  # at least four runs a month
    MONTHLY = "monthly"  # at least one a month
    QUARTERLY = "quarterly"  # at least one every three months
    RARER = "rarer"


Band = (
    DeploymentFrequencyBand
    | DurationBand
    | ChangeFailureBand
    | TrainingBand
    | ReviewedShareBand
    | ReviewTimeBand
    | ShareBand
    | AlertingBand
)

# The alert category each alerting metric reads.
ALERTING_CATEGORIES: dict[Metric, str] = {
    Metric.SERVICE_ALERTING: SERVICE,
    Metric.DRIFT_ALERTING: DRIFT,
    Metric.MODEL_QUALITY_ALERTING: MODEL_QUALITY,
}


def deployment_frequency_band(per_week: float) -> DeploymentFrequencyBand:
    """DORA's deployment frequency band for a rate of successful deployments per week."""
    per_day = per_week / DAYS_PER_WEEK
    if per_day > 1:
        return DeploymentFrequencyBand.ON_DEMAND
    if per_week >= 1:
        return DeploymentFrequencyBand.DAILY
    if per_week * DAYS_PER_MONTH / DAYS_PER_WEEK >= 1:
        return DeploymentFrequencyBand.WEEKLY
    if per_week * 6 * DAYS_PER_MONTH / DAYS_PER_WEEK >= 1:
        return DeploymentFrequencyBand.MONTHLY
    return DeploymentFrequencyBand.FEWER


def duration_band(hours: float) -> DurationBand:
    """DORA's band for a lead time or a time to restore (upper bounds exclusive, as Four Keys')."""
    if hours < 1:
        return DurationBand.HOUR
    if hours < 24:
        return DurationBand.DAY
    if hours < 168:
        return DurationBand.WEEK
    if hours < HOURS_PER_MONTH:
        return DurationBand.MONTH
    if hours < 6 * HOURS_PER_MONTH:
        return DurationBand.HALF_YEAR
    return DurationBand.LONGER


def change_failure_band(rate: float) -> ChangeFailureBand:
    """Four Keys' change failure rate bucket: <= 15 %, < 46 %, else."""
    if rate <= 0.15:
        return ChangeFailureBand.LOW
    if rate < 0.46:
        return ChangeFailureBand.MEDIUM
    return ChangeFailureBand.HIGH


def training_band(runs_per_month_per_model: float) -> TrainingBand:
    if runs_per_month_per_model >= 4:
        return TrainingBand.WEEKLY
    if runs_per_month_per_model >= 1:
        return TrainingBand.MONTHLY
    if runs_per_month_per_model >= 1 / 3:
        return TrainingBand.QUARTERLY
    return TrainingBand.RARER


# Which maturity levels a band is evidence for, (lowest, highest). DORA's clusters line up with
# the bands (2023: Elite on demand, < 1 day, < 1 hour; High daily-weekly, 1 day-1 week, < 1 day;
# Medium weekly-monthly, 1 week-1 month, 1 day-1 week); the step to Compass's four levels is ours:
# the top band supports level 4 only, every other band spans two neighbouring levels.
_DURATION_LEVELS: dict[DurationBand, tuple[int, int]] = {
    DurationBand.HOUR: (4, 4),
    DurationBand.DAY: (3, 4),
    DurationBand.WEEK: (2, 3),
    DurationBand.MONTH: (2, 2),
    DurationBand.HALF_YEAR: (1, 2),
    DurationBand.LONGER: (1, 1),
}
SUPPORTED_LEVELS: dict[Metric, dict[Any, tuple[int, int]]] = {
    Metric.DEPLOYMENT_FREQUENCY: {
        DeploymentFrequencyBand.ON_DEMAND: (4, 4),
        DeploymentFrequencyBand.DAILY: (3, 4),
        DeploymentFrequencyBand.WEEKLY: (2, 3),
        DeploymentFrequencyBand.MONTHLY: (1, 2),
        DeploymentFrequencyBand.FEWER: (1, 1),
    },
    Metric.LEAD_TIME: dict(_DURATION_LEVELS),
    Metric.TIME_TO_RESTORE: dict(_DURATION_LEVELS),
    Metric.CHANGE_FAILURE_RATE: {
        ChangeFailureBand.LOW: (3, 4),
        ChangeFailureBand.MEDIUM: (2, 3),
        ChangeFailureBand.HIGH: (1, 2),
    },
    Metric.TRAINING_CADENCE: {
        TrainingBand.WEEKLY: (3, 4),
        TrainingBand.MONTHLY: (2, 3),
        TrainingBand.QUARTERLY: (1, 2),
        TrainingBand.RARER: (1, 1),
    },
    Metric.REVIEWED_SHARE: dict(REVIEWED_SHARE_LEVELS),
    Metric.REVIEW_TIME: dict(REVIEW_TIME_LEVELS),
    Metric.MODEL_DOCUMENTATION: dict(DOCUMENTATION_LEVELS),
    Metric.MODEL_TRACKING: dict(TRACKING_LEVELS),
    # An alert resolves when its condition clears, by someone's fix or by itself: weaker evidence
    # of a response than an incident's time to restore, so the bands sit a step lower at the
    # top (fast resolution fits on-call, it does not show learning from incidents) and at the
    # bottom (an alert left firing for weeks means nobody acts on it).
    Metric.ALERT_RESOLUTION: {
        DurationBand.HOUR: (3, 4),
        DurationBand.DAY: (3, 4),
        DurationBand.WEEK: (2, 3),
        DurationBand.MONTH: (1, 2),
        DurationBand.HALF_YEAR: (1, 2),
        DurationBand.LONGER: (1, 1),
    },
    # Alerts of a category (drift, model_quality, service) that fire and get resolved show that
    # kind of alerting wired up and acted on: the "alerts with thresholds" level (3) or above;
    # what follows (retraining, SLOs: level 4) is not seen. Alerts that fire and are never
    # resolved are alerting nobody closes (2-3). A category seen in the year before but quiet in
    # the window shows that the rule exists, not that anyone acts on it (2-3). None of these
    # supports level 1 (the alert exists), and a category never seen says nothing at all: no
    # evidence rather than level 1, since the team may watch it by other means.
    **{
        metric: {AlertingBand.RESOLVED: (3, 4), AlertingBand.FIRING: (2, 3), AlertingBand.QUIET: (2, 3)}
        for metric in ALERTING_CATEGORIES
    },
}


def supported_levels(metric: Metric | str, band: Band | str) -> tuple[int, int]:
    """The (lowest, highest) maturity levels that a metric's band supports.

    Raises:
        ValueError: an unknown metric, or a band that is not one of the metric's.
    """
    try:
        levels = SUPPORTED_LEVELS[Metric(metric)]
    except ValueError:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(m.value for m in Metric)}") from None
    for known, span in levels.items():
        if known.value == str(band):
            return span
    raise ValueError(f"{band!r} is not a band of {metric}; its bands: {', '.join(b.value for b in levels)}")


def bands_of(metric: Metric | str) -> tuple[str, ...]:
    """A metric's band names, best first (what a question's evidence may name)."""
    return tuple(b.value for b in SUPPORTED_LEVELS[Metric(metric)])


@dataclass(frozen=True)
class DeliveryMetrics:
    """One channel's delivery signals over the last ``window_days``; None where there is no data.

    ``deployment_frequency_per_week`` is None only when the channel has never reported a
    deployment (no CI wired up), 0.0 when it has but none fell in the window.
    """

    window_days: int
    deployments: int = 0
    failed_deployments: int = 0
    deployment_frequency_per_week: float | None = None
    lead_time_hours_p50: float | None = None
    change_failure_rate: float | None = None  # 0-1
    time_to_restore_hours_p50: float | None = None
    training_runs: int = 0
    training_runs_per_month_per_model: float | None = None
    model_deployments: int = 0
    model_age_days: float | None = None  # median age of the model versions now serving
    # code review, over the changes merged in the window (bot/domain/review_metrics.py)
    changes_merged: int = 0
    reviewed_share: float | None = None  # 0-1, reviewed by someone else before the merge
    review_hours_p50: float | None = None  # opened -> first review
    merge_hours_p50: float | None = None  # opened -> merged
    model_versions: int = 0  # registered in the window (bot/db/model_doc_metrics.py)
    documented_share: float | None = None  # 0-1 of model_versions; None without any
    tracked_share: float | None = None  # 0-1 of model_versions linked to a tracked run
    alerts_fired: int = 0  # alerts that started firing in the window
    alerts_resolved: int = 0  # alerts resolved in the window
    alert_time_to_resolve_hours_p50: float | None = None  # over the alerts resolved in the window
    alerts_by_category: tuple[CategoryAlerts, ...] = ()  # the categories seen in the last year
    checks: Mapping[str, CheckFigures] = field(default_factory=dict)  # by name, most runs first

    @property
    def deployment_frequency_band(self) -> DeploymentFrequencyBand | None:
        f = self.deployment_frequency_per_week
        return None if f is None else deployment_frequency_band(f)

    @property
    def lead_time_band(self) -> DurationBand | None:
        h = self.lead_time_hours_p50
        return None if h is None else duration_band(h)

    @property
    def change_failure_band(self) -> ChangeFailureBand | None:
        r = self.change_failure_rate
        return None if r is None else change_failure_band(r)

    @property
    def time_to_restore_band(self) -> DurationBand | None:
        h = self.time_to_restore_hours_p50
        return None if h is None else duration_band(h)

    @property
    def training_band(self) -> TrainingBand | None:
        r = self.training_runs_per_month_per_model
        return None if r is None else training_band(r)

    @property
    def reviewed_share_band(self) -> ReviewedShareBand | None:
        r = self.reviewed_share
        return None if r is None else reviewed_share_band(r)

    @property
    def review_time_band(self) -> ReviewTimeBand | None:
        h = self.review_hours_p50
        return None if h is None else review_time_band(h)

    def with_reviews(self, figures: ReviewFigures) -> DeliveryMetrics:
        """These metrics with the code review figures of the same window."""
        return replace(
            self,
            changes_merged=figures.changes_merged,
            reviewed_share=figures.reviewed_share,
            review_hours_p50=figures.review_hours_p50,
            merge_hours_p50=figures.merge_hours_p50,
        )

    @property
    def documented_band(self) -> ShareBand | None:
        return None if self.documented_share is None else share_band(self.documented_share)

    @property
    def tracked_band(self) -> ShareBand | None:
        return None if self.tracked_share is None else share_band(self.tracked_share)

    @property
    def alert_resolution_band(self) -> DurationBand | None:
        h = self.alert_time_to_resolve_hours_p50
        return None if h is None else duration_band(h)

    def alerts_of(self, category: str) -> CategoryAlerts | None:
        """One category's alerts; None when the category was not seen in the last year."""
        return next((c for c in self.alerts_by_category if c.category == category), None)

    @property
    def model_alerts_fired(self) -> int:
        return sum(c.fired for c in self.alerts_by_category if c.category in MODEL_CATEGORIES)

    @property
    def model_alerts_resolved(self) -> int:
        return sum(c.resolved for c in self.alerts_by_category if c.category in MODEL_CATEGORIES)

    def band(self, metric: Metric) -> Band | None:
        if metric in ALERTING_CATEGORIES:
            seen = self.alerts_of(ALERTING_CATEGORIES[metric])
            return None if seen is None else seen.band
        return {
            Metric.DEPLOYMENT_FREQUENCY: self.deployment_frequency_band,
            Metric.LEAD_TIME: self.lead_time_band,
            Metric.CHANGE_FAILURE_RATE: self.change_failure_band,
            Metric.TIME_TO_RESTORE: self.time_to_restore_band,
            Metric.TRAINING_CADENCE: self.training_band,
            Metric.REVIEWED_SHARE: self.reviewed_share_band,
            Metric.REVIEW_TIME: self.review_time_band,
            Metric.MODEL_DOCUMENTATION: self.documented_band,
            Metric.MODEL_TRACKING: self.tracked_band,
            Metric.ALERT_RESOLUTION: self.alert_resolution_band,
        }[metric]

    def levels(self, metric: Metric) -> tuple[int, int] | None:
        """The maturity levels this channel's measurement of ``metric`` supports, None without data."""
        band = self.band(metric)
        return None if band is None else supported_levels(metric, band)

    @property
    def has_data(self) -> bool:
        return any(self.band(m) is not None for m in Metric) or bool(
            self.model_deployments or self.model_age_days or self.checks
        )

    def as_json_dict(self) -> dict[str, Any]:
        def value(band: Band | None) -> str | None:
            return None if band is None else band.value

        return {
            "window_days": self.window_days,
            "deployments": self.deployments,
            "failed_deployments": self.failed_deployments,
            "deployment_frequency_per_week": _round(self.deployment_frequency_per_week),
            "deployment_frequency_band": value(self.deployment_frequency_band),
            "lead_time_hours_p50": _round(self.lead_time_hours_p50),
            "lead_time_band": value(self.lead_time_band),
            "change_failure_rate": _round(self.change_failure_rate),
            "change_failure_band": value(self.change_failure_band),
            "time_to_restore_hours_p50": _round(self.time_to_restore_hours_p50),
            "time_to_restore_band": value(self.time_to_restore_band),
            "training_runs": self.training_runs,
            "training_runs_per_month_per_model": _round(self.training_runs_per_month_per_model),
            "training_band": value(self.training_band),
            "model_deployments": self.model_deployments,
            "model_age_days": _round(self.model_age_days),
            "changes_merged": self.changes_merged,
            "reviewed_share": _round(self.reviewed_share),
            "reviewed_share_band": value(self.reviewed_share_band),
            "review_hours_p50": _round(self.review_hours_p50),
            "review_time_band": value(self.review_time_band),
            "merge_hours_p50": _round(self.merge_hours_p50),
            "model_versions": self.model_versions,
            "documented_share": _round(self.documented_share),
            "documented_band": value(self.documented_band),
            "tracked_share": _round(self.tracked_share),
            "tracked_band": value(self.tracked_band),
            "alerts_fired": self.alerts_fired,
            "alerts_resolved": self.alerts_resolved,
            "alert_time_to_resolve_hours_p50": _round(self.alert_time_to_resolve_hours_p50),
            "alert_resolution_band": value(self.alert_resolution_band),
            "alerts_by_category": {
                c.category: {"fired": c.fired, "resolved": c.resolved, "band": c.band.value}
                for c in self.alerts_by_category
            },
            "model_alerts_fired": self.model_alerts_fired,
            "model_alerts_resolved": self.model_alerts_resolved,
            "checks": {name: figures.as_json_dict() for name, figures in self.checks.items()},
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def build_metrics(
    window_days: int,
    *,
    deployments: int,
    failed_deployments: int,
    caused_incidents: int,
    ever_deployed: bool,
    lead_time_seconds_p50: float | None,
    restore_seconds_p50: float | None,
    training_runs: int,
    trained_models: int,
    model_deployments: int,
    model_age_seconds_p50: float | None,
) -> DeliveryMetrics:
    """Turn the counts and medians the database gives into the metrics (rates, hours, days).

    Args:
        caused_incidents: successful deployments in the window that an incident names as root cause.
        ever_deployed: whether the channel has any deployment or failed deployment at all.
        trained_models: distinct models among the window's training runs.
    """
    if window_days <= 0:
        raise ValueError(f"the window must be at least one day, not {window_days}")
    attempts = deployments + failed_deployments
    months = window_days / DAYS_PER_MONTH
    return DeliveryMetrics(
        window_days=window_days,
        deployments=deployments,
        failed_deployments=failed_deployments,
        deployment_frequency_per_week=deployments / (window_days / DAYS_PER_WEEK) if ever_deployed else None,
        lead_time_hours_p50=None if lead_time_seconds_p50 is None else lead_time_seconds_p50 / 3600,
        change_failure_rate=(failed_deployments + caused_incidents) / attempts if attempts else None,
        time_to_restore_hours_p50=None if restore_seconds_p50 is None else restore_seconds_p50 / 3600,
        training_runs=training_runs,
        training_runs_per_month_per_model=training_runs / months / trained_models if trained_models else None,
        model_deployments=model_deployments,
        model_age_days=None if model_age_seconds_p50 is None else model_age_seconds_p50 / 86400,
    )


def with_alerts(metrics: DeliveryMetrics, alerts: AlertFigures) -> DeliveryMetrics:
    """The metrics with the channel's alerts (``bot/db/alert_metrics.py``) added."""
    seconds = alerts.time_to_resolve_seconds_p50
    return replace(
        metrics,
        alerts_fired=alerts.fired,
        alerts_resolved=alerts.resolved,
        alert_time_to_resolve_hours_p50=None if seconds is None else seconds / 3600,
        alerts_by_category=alerts.by_category,
    )
