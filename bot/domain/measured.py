"""The "Measured" part of a team digest and of a report: the team's delivery signals beside
what people answered, with a flag where the two are more than a level apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.check_evidence import check_measurements, cited_checks
from bot.domain.check_metrics import is_check
from bot.domain.delivery_metrics import DeliveryMetrics, Metric
from bot.domain.evidence import Evidence, Measurement, weigh
from bot.domain.questionnaire import Questionnaire


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
    flags = []
    for question_id, mean in (question_means or {}).items():
        if not bank.has_question(question_id):
            continue
        question = bank.question(question_id)
        evidence = weigh(question.evidence, measured, channel_id, days)
        if evidence is not None and evidence.differs_by_more_than_a_level(mean):
            flags.append(Disagreement(question.id, question.title, round(mean), evidence))
    shown = tuple(m for m in measured.values() if not is_check(m.metric) or m.metric in cited)
    if not shown and not flags:
        return None
    return MeasuredSection(channel_id, days, shown, tuple(flags))


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
    found.update(check_measurements(metrics.checks))
    return found
