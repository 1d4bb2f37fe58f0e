"""Weighted scoring of one person's answers, and the recommendation it leads to.

Exact arithmetic (Fraction) so a score that sits on a band edge (2.5) is banded
the same way on every machine; floats only appear when results are presented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from bot.domain.levels import level_for, level_name
from bot.domain.questionnaire import Question, Questionnaire

# question id -> answered level (1-4), or None for "not applicable"
Answers = Mapping[str, int | None]

FURTHER_STEPS = 3


@dataclass(frozen=True)
class DimensionScore:
    dimension_id: str
    name: str
    score: Fraction | None  # None when nothing in the dimension was answered
    answered: int  # answered with a level (N/A excluded)
    not_applicable: int
    total: int
    total_weight: Fraction

    @property
    def level(self) -> int | None:
        return None if self.score is None else level_for(self.score)


@dataclass(frozen=True)
class NextStep:
    dimension_id: str
    dimension_name: str
    question_id: str
    question_title: str
    level: int
    text: str


@dataclass(frozen=True)
class Recommendation:
    dimension_id: str
    dimension_name: str
    dimension_level: int
    advice: str  # the dimension's recommendation for its level
    step: NextStep  # the practice to change first


@dataclass(frozen=True)
class Score:
    overall: Fraction | None
    dimensions: tuple[DimensionScore, ...]
    answered: int
    not_applicable: int
    total: int
    top: Recommendation | None
    further_steps: tuple[NextStep, ...]

    @property
    def level(self) -> int | None:
        return None if self.overall is None else level_for(self.overall)

    @property
    def level_name(self) -> str | None:
        return None if self.level is None else level_name(self.level)

    def dimension(self, dimension_id: str) -> DimensionScore:
        return next(d for d in self.dimensions if d.dimension_id == dimension_id)


def score_answers(questionnaire: Questionnaire, answers: Answers) -> Score:
    """Score answers against a questionnaire.

    A dimension's score is sum(weight x level) / sum(weight) over its answered
    questions; "not applicable" answers are left out of both sums. The overall
    score is the weighted mean of the dimensions that have a score.

    Raises:
        ValueError: an answer names an unknown question or a level outside 1-4.
    """
    for question_id, level in answers.items():
        if not questionnaire.has_question(question_id):
            raise ValueError(f"unknown question {question_id!r}")
        if level is not None and level not in (1, 2, 3, 4):
            raise ValueError(f"answer to {question_id!r} must be a level 1-4 or N/A, got {level!r}")
    dims = tuple(_score_dimension(questionnaire, d.id, answers) for d in questionnaire.dimensions)
    scored = [(questionnaire.dimension(d.dimension_id).weight, d.score) for d in dims if d.score is not None]
    overall = None
    if scored:
        overall = sum((w * s for w, s in scored), Fraction(0)) / sum(w for w, _ in scored)
    top, further = _recommend(questionnaire, dims, answers)
    return Score(
        overall=overall,
        dimensions=dims,
        answered=sum(d.answered for d in dims),
        not_applicable=sum(d.not_applicable for d in dims),
        total=len(questionnaire),
        top=top,
        further_steps=further,
    )


def _score_dimension(questionnaire: Questionnaire, dimension_id: str, answers: Answers) -> DimensionScore:
    questions = questionnaire.questions_in(dimension_id)
    weighted = Fraction(0)
    weights = Fraction(0)
    answered = not_applicable = 0
    for q in questions:
        if q.id not in answers:
            continue
        level = answers[q.id]
        if level is None:
            not_applicable += 1
            continue
        answered += 1
        weighted += q.weight * level
        weights += q.weight
    return DimensionScore(
        dimension_id=dimension_id,
        name=questionnaire.dimension(dimension_id).name,
        score=weighted / weights if weights else None,
        answered=answered,
        not_applicable=not_applicable,
        total=len(questions),
        total_weight=sum((q.weight for q in questions), Fraction(0)),
    )


def _step(questionnaire: Questionnaire, q: Question, level: int) -> NextStep:
    dim = questionnaire.dimension(q.dimension)
    return NextStep(dim.id, dim.name, q.id, q.title, level, q.next_step(level))


def _recommend(
    questionnaire: Questionnaire, dims: tuple[DimensionScore, ...], answers: Answers
) -> tuple[Recommendation | None, tuple[NextStep, ...]]:
    order = {d.id: i for i, d in enumerate(questionnaire.dimensions)}
    scored = [d for d in dims if d.score is not None]
    if not scored:
        return None, ()
    # Weakest dimension first; on a tie the one carrying more weight matters more.
    weakest = min(scored, key=lambda d: (d.score, -d.total_weight, order[d.dimension_id]))
    position = {q.id: i for i, q in enumerate(questionnaire.questions)}

    def rank(q: Question) -> tuple[int, Fraction, int]:
        return (answers[q.id] or 0, -q.weight, position[q.id])

    answered = [q for q in questionnaire.questions if answers.get(q.id) is not None]
    in_weakest = sorted((q for q in answered if q.dimension == weakest.dimension_id), key=rank)
    first = in_weakest[0]
    level = answers[first.id]
    assert level is not None
    dim_level = weakest.level
    assert dim_level is not None
    top = Recommendation(
        dimension_id=weakest.dimension_id,
        dimension_name=weakest.name,
        dimension_level=dim_level,
        advice=questionnaire.dimension(weakest.dimension_id).recommendation(dim_level),
        step=_step(questionnaire, first, level),
    )
    # Further steps: the lowest, heaviest remaining practices, spread over dimensions
    # before a second one is taken from the same dimension.
    rest = sorted((q for q in answered if q.id != first.id), key=rank)
    further: list[Question] = []
    used_dims = {first.dimension}
    for q in rest:
        if len(further) == FURTHER_STEPS:
            break
        if q.dimension not in used_dims and (answers[q.id] or 0) < 4:
            further.append(q)
            used_dims.add(q.dimension)
    for q in rest:
        if len(further) == FURTHER_STEPS:
            break
        if q not in further and (answers[q.id] or 0) < 4:
            further.append(q)
    further.sort(key=rank)
    steps = tuple(_step(questionnaire, q, answers[q.id] or 1) for q in further)
    return top, steps
