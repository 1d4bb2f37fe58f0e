"""The "Measured" part of a team digest and of a report: the team's delivery signals beside
what people answered, with a flag where the two are more than a level apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.check_evidence import check_measurements, cited_checks
from bot.domain.check_metrics import is_check
from bot.domain.delivery_metrics import ALERTING_CATEGORIES, DeliveryMetrics, Metric
from bot.domain.evidence import Evidence, Measurement, weigh
from bot.domain.questionnaire import Questionnaire
from bot.domain.say_do import DimensionGap, Verdict, gap_by_dimension, verdicts


@dataclass(frozen=True)
class Disagreement:
    """A question where the team's mean answer and the measurements are more than a level apart."""

    question_id: str
    title: str
    self_assessed: int  # the team's mean answer, rounded
    evidence: Evidence


@dataclass(frozen=True)
class MeasuredSection:
    channel_id: str
    days: int
    measurements: tuple[Measurement, ...]
    disagreements: tuple[Disagreement, ...] = ()
    # The say–do gap per dimension (bot/domain/say_do.py); empty below the anonymity threshold.
    gap: tuple[DimensionGap, ...] = ()


def build_measured(
    bank: Questionnaire,
    measured: Mapping[str, Measurement],
    channel_id: str,
    days: int,
    question_means: Mapping[str, float] | None = None,
) -> MeasuredSection | None:
    """The section, or None when nothing was measured. ``question_means`` (the team's mean answer
    per question) is given only when the digest may show self-assessed figures at all: below the
    anonymity threshold there is nothing to compare, and the measurements show alone."""
    if not measured:
        return None
    cited = cited_checks((rule for q in bank for rule in q.evidence), measured)
    found = verdicts(bank, dict(question_means or {}), measured, channel_id, days)
    flags = [
        Disagreement(v.question_id, v.title, v.said_level, v.evidence)
        for v in found
        if v.evidence is not None and v.verdict is Verdict.CONTRADICTED
    ]
    # Only the checks the bank cites: dozens of pipeline checks would crowd out the rest of the section.
    shown = tuple(m for m in measured.values() if not is_check(m.metric) or m.metric in cited)
    if not shown and not flags:
        return None
    return MeasuredSection(channel_id, days, shown, tuple(flags), gap_by_dimension(bank, found))


def dimension_evidence(
    bank: Questionnaire, dimension_id: str, measured: Mapping[str, Measurement], channel_id: str, days: int
) -> Evidence | None:
    """What the measurements say about a dimension: over every rule its questions cite."""
    rules = tuple(rule for q in bank.questions_in(dimension_id) for rule in q.evidence)
    return weigh(rules, measured, channel_id, days)


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{max(round(hours * 60), 1)} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"


def measurements(metrics: DeliveryMetrics) -> dict[str, Measurement]:
    """Each metric the channel has data for, as a phrase with its band, keyed by metric name."""
    found: dict[str, Measurement] = {}

    def add(metric: Metric, phrase: str) -> None:
        band = metrics.band(metric)
        if band is not None:
            found[metric.value] = Measurement(metric.value, f"{phrase} ({band.value})", band.value)

    if metrics.deployment_frequency_per_week is not None:
        per_week = metrics.deployment_frequency_per_week
        add(Metric.DEPLOYMENT_FREQUENCY, f"{metrics.deployments} production deployments, {per_week:.1f} a week")
    if metrics.lead_time_hours_p50 is not None:
        add(Metric.LEAD_TIME, f"median lead time {_hours(metrics.lead_time_hours_p50)}")
    if metrics.change_failure_rate is not None:
        add(Metric.CHANGE_FAILURE_RATE, f"change failure rate {metrics.change_failure_rate * 100:.0f} %")
    if metrics.time_to_restore_hours_p50 is not None:
        add(Metric.TIME_TO_RESTORE, f"median time to restore {_hours(metrics.time_to_restore_hours_p50)}")
    if metrics.training_runs_per_month_per_model is not None:
        per_month = metrics.training_runs_per_month_per_model
        add(Metric.TRAINING_CADENCE, f"{metrics.training_runs} training runs, {per_month:.1f} a month per model")
    if metrics.reviewed_share is not None:
        merged, reviewed = metrics.changes_merged, round(metrics.reviewed_share * metrics.changes_merged)
        to_merge = "" if metrics.merge_hours_p50 is None else f", median {_hours(metrics.merge_hours_p50)} to merge"
        add(Metric.REVIEWED_SHARE, f"{reviewed} of {merged} merged changes reviewed before merging{to_merge}")
    if metrics.review_hours_p50 is not None:
        add(Metric.REVIEW_TIME, f"median time to first review {_hours(metrics.review_hours_p50)}")
    versions = f"{metrics.model_versions} model version" + ("" if metrics.model_versions == 1 else "s")
    if metrics.documented_share is not None:
        add(Metric.MODEL_DOCUMENTATION, f"{metrics.documented_share * 100:.0f} % of {versions} documented")
    if metrics.tracked_share is not None:
        add(Metric.MODEL_TRACKING, f"{metrics.tracked_share * 100:.0f} % of {versions} linked to a tracked run")
    if metrics.alert_time_to_resolve_hours_p50 is not None:
        took = _hours(metrics.alert_time_to_resolve_hours_p50)
        add(Metric.ALERT_RESOLUTION, f"{metrics.alerts_resolved} alerts resolved, median {took} to resolve")
    for metric, category in ALERTING_CATEGORIES.items():
        seen = metrics.alerts_of(category)
        kind = category.replace("_", " ")
        if seen is not None:
            counted = f"{kind} alerts: {seen.fired} fired, {seen.resolved} resolved"
            add(metric, counted if seen.fired or seen.resolved else f"no {kind} alerts in {metrics.window_days} days")
    found.update(check_measurements(metrics.checks))
    return found
