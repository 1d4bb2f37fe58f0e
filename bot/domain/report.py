"""The report a person gets at the end: plain data, serialisable, with the change since last time.

A stored report keeps the texts it was produced with, so history stays readable
after the question bank changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.levels import level_name
from bot.domain.scoring import NextStep, Score


@dataclass(frozen=True)
class DimensionResult:
    id: str
    name: str
    score: float | None
    level: int | None
    answered: int
    total: int
    change: float | None = None  # versus the previous assessment, when both have a score


@dataclass(frozen=True)
class StepResult:
    dimension: str
    title: str
    level: int
    text: str


@dataclass(frozen=True)
class TopRecommendation:
    dimension: str
    dimension_level: int
    advice: str
    step: StepResult


@dataclass(frozen=True)
class Report:
    overall: float | None
    level: int | None
    dimensions: tuple[DimensionResult, ...]
    answered: int
    not_applicable: int
    total: int
    top: TopRecommendation | None
    further_steps: tuple[StepResult, ...]
    bank_version: str
    completed_at: datetime | None = None
    change: float | None = None  # overall, versus the previous assessment
    previous_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def level_name(self) -> str | None:
        return None if self.level is None else level_name(self.level)

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("completed_at", "previous_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Report:
        top = data.get("top")
        return cls(
            overall=data["overall"],
            level=data["level"],
            dimensions=tuple(DimensionResult(**d) for d in data["dimensions"]),
            answered=data["answered"],
            not_applicable=data["not_applicable"],
            total=data["total"],
            top=None
            if top is None
            else TopRecommendation(
                dimension=top["dimension"],
                dimension_level=top["dimension_level"],
                advice=top["advice"],
                step=StepResult(**top["step"]),
            ),
            further_steps=tuple(StepResult(**s) for s in data["further_steps"]),
            bank_version=data["bank_version"],
            completed_at=datetime.fromisoformat(data["completed_at"]) if data.get("completed_at") else None,
            change=data.get("change"),
            previous_at=datetime.fromisoformat(data["previous_at"]) if data.get("previous_at") else None,
        )


def _step(step: NextStep) -> StepResult:
    return StepResult(dimension=step.dimension_name, title=step.question_title, level=step.level, text=step.text)


def build_report(score: Score, bank_version: str, completed_at: datetime | None) -> Report:
    """Freeze a score into the report shown to the person."""
    top = None
    if score.top is not None:
        top = TopRecommendation(
            dimension=score.top.dimension_name,
            dimension_level=score.top.dimension_level,
            advice=score.top.advice,
            step=_step(score.top.step),
        )
    return Report(
        overall=None if score.overall is None else round(float(score.overall), 4),
        level=score.level,
        dimensions=tuple(
            DimensionResult(
                id=d.dimension_id,
                name=d.name,
                score=None if d.score is None else round(float(d.score), 4),
                level=d.level,
                answered=d.answered,
                total=d.total,
            )
            for d in score.dimensions
        ),
        answered=score.answered,
        not_applicable=score.not_applicable,
        total=score.total,
        top=top,
        further_steps=tuple(_step(s) for s in score.further_steps),
        bank_version=bank_version,
        completed_at=completed_at,
    )


def _diff(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else round(new - old, 4)


def with_change(report: Report, previous: Report | None) -> Report:
    """The report annotated with the change since ``previous`` (overall and per dimension)."""
    if previous is None:
        return report
    before = {d.id: d.score for d in previous.dimensions}
    dims = tuple(replace(d, change=_diff(d.score, before.get(d.id))) for d in report.dimensions)
    return replace(
        report, dimensions=dims, change=_diff(report.overall, previous.overall), previous_at=previous.completed_at
    )
