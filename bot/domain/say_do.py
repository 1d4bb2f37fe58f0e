"""The say–do gap: what people answered beside what their team's systems measured.

For each question the bank backs with evidence (``Question.evidence``), an answer is
- *confirmed* when the measured levels are within one level of it (the measurement fits it, or
  misses by one step: a band spans two levels and an answer is a judgement, so one step is
  the noise of the method, not a contradiction),
- *contradicted* when it is more than a level away from every level the measurement supports,
- *unverifiable* when none of the metrics the question cites has data.

For a team the answer is its members' mean answer to the question; a person's own report
compares their own answer. Pure: the measurements and answers come in as values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.evidence import Evidence, Measurement, weigh
from bot.domain.questionnaire import Questionnaire


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    CONTRADICTED = "contradicted"
    UNVERIFIABLE = "unverifiable"


def classify(said: float | None, evidence: Evidence | None) -> Verdict | None:
    """One answer (a level, or a team's mean level) against what was measured; None for an answer of
    "not applicable" (nothing was claimed, so nothing can be confirmed or contradicted)."""
    if said is None:
        return None
    if evidence is None:
        return Verdict.UNVERIFIABLE
    return Verdict.CONTRADICTED if evidence.differs_by_more_than_a_level(said) else Verdict.CONFIRMED


@dataclass(frozen=True)
class QuestionVerdict:
    question_id: str
    dimension_id: str
    title: str
    said: float  # the level answered (a person) or the mean answer (a team)
    verdict: Verdict
    evidence: Evidence | None  # None when unverifiable

    @property
    def said_level(self) -> int:
        """The answer as a level: a team's mean rounded half up (2.5 reads as L3)."""
        return int(self.said + 0.5)


@dataclass(frozen=True)
class DimensionGap:
    """One dimension's questions with evidence, sorted by verdict."""

    dimension_id: str
    name: str
    confirmed: tuple[QuestionVerdict, ...]
    contradicted: tuple[QuestionVerdict, ...]
    unverifiable: tuple[QuestionVerdict, ...]

    @property
    def checked(self) -> int:
        """Questions whose answer could be held against a measurement."""
        return len(self.confirmed) + len(self.contradicted)


def verdicts(
    bank: Questionnaire,
    answers: Mapping[str, float | None],
    measured: Mapping[str, Measurement],
    channel_id: str,
    days: int,
) -> tuple[QuestionVerdict, ...]:
    """Each answered question of the bank that cites evidence, in the bank's order, with its verdict.

    ``answers``: question id -> the level (or mean level) answered, None for not applicable;
    questions not in it were not answered and are left out, as are answers of not applicable.
    """
    found = []
    for question in bank.questions:
        if not question.evidence or question.id not in answers:
            continue
        said = answers[question.id]
        evidence = weigh(question.evidence, measured, channel_id, days)
        verdict = classify(said, evidence)
        if verdict is None or said is None:
            continue
        found.append(QuestionVerdict(question.id, question.dimension, question.title, said, verdict, evidence))
    return tuple(found)


def gap_by_dimension(bank: Questionnaire, found: tuple[QuestionVerdict, ...]) -> tuple[DimensionGap, ...]:
    """The verdicts grouped per dimension, in the bank's order; dimensions without any left out."""
    gaps = []
    for dimension in bank.dimensions:
        mine = [v for v in found if v.dimension_id == dimension.id]
        if not mine:
            continue
        gaps.append(
            DimensionGap(
                dimension.id,
                dimension.name,
                tuple(v for v in mine if v.verdict is Verdict.CONFIRMED),
                tuple(v for v in mine if v.verdict is Verdict.CONTRADICTED),
                tuple(v for v in mine if v.verdict is Verdict.UNVERIFIABLE),
            )
        )
    return tuple(gaps)


def gap_json(gaps: tuple[DimensionGap, ...]) -> dict[str, dict[str, object]]:
    """What a digest's snapshot keeps of the gap (and `compass export --teams` reads back): per
    dimension the counts and which questions were contradicted."""
    return {
        g.dimension_id: {
            "confirmed": len(g.confirmed),
            "contradicted": [v.question_id for v in g.contradicted],
            "unverifiable": len(g.unverifiable),
        }
        for g in gaps
    }
