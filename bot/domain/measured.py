"""The "Measured" part of a team digest and of a report: the team's delivery signals beside
what people answered, with a flag where the two are more than a level apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
    flags = []
    for question_id, mean in (question_means or {}).items():
        if not bank.has_question(question_id):
            continue
        question = bank.question(question_id)
        evidence = weigh(question.evidence, measured, channel_id, days)
        if evidence is not None and evidence.differs_by_more_than_a_level(mean):
            flags.append(Disagreement(question.id, question.title, round(mean), evidence))
    return MeasuredSection(channel_id, days, tuple(measured.values()), tuple(flags))


def dimension_evidence(
    bank: Questionnaire, dimension_id: str, measured: Mapping[str, Measurement], channel_id: str, days: int
) -> Evidence | None:
    """What the measurements say about a dimension: over every rule its questions cite."""
    rules = tuple(rule for q in bank.questions_in(dimension_id) for rule in q.evidence)
    return weigh(rules, measured, channel_id, days)
