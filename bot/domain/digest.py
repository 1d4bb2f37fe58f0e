"""A team's maturity digest, built from aggregates the database computed.

Anonymity lives here: below the minimum number of respondents the digest carries
no figures at all, only how many more answers are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from bot.domain.evidence import Measurement
from bot.domain.levels import level_for
from bot.domain.measured import MeasuredSection, build_measured
from bot.domain.questionnaire import Questionnaire
from bot.domain.say_do import gap_json
from bot.domain.targets import Target, TargetProgress, progress
from bot.domain.team_session import AgreedLevel, TeamAction

ABSOLUTE_MIN_RESPONDENTS = 3  # never show aggregates of fewer people than this


def respondent_threshold(min_respondents: int) -> int:
    """The fewest respondents whose figures may be shown: the setting, never below ABSOLUTE_MIN_RESPONDENTS."""
    return max(min_respondents, ABSOLUTE_MIN_RESPONDENTS)


@dataclass(frozen=True)
class Subscription:
    """A channel that gets the team digest at a cadence; its members are the team."""

    id: int
    channel_id: str
    cadence: str  # a schedule.Cadence value
    created_by: str
    created_at: datetime
    paused_reason: str | None  # set when Slack refused a post


@dataclass(frozen=True)
class DimensionAggregate:
    dimension_id: str
    respondents: int  # people with a score in this dimension
    mean: float | None
    levels: tuple[int, int, int, int]  # how many people sit at level 1, 2, 3, 4
    low: float | None = None  # the lowest and the highest member's score (a team radar's band)
    high: float | None = None


@dataclass(frozen=True)
class QuestionAggregate:
    question_id: str
    answered: int
    mean_level: float


@dataclass(frozen=True)
class TeamAggregate:
    respondents: int
    overall_mean: float | None
    dimensions: tuple[DimensionAggregate, ...]
    questions: tuple[QuestionAggregate, ...]


@dataclass(frozen=True)
class TeamDimension:
    id: str
    name: str
    mean: float | None
    level: int | None
    spread: tuple[int, int, int, int]
    change: float | None
    low: float | None = None  # the lowest and the highest member's score
    high: float | None = None


@dataclass(frozen=True)
class TeamRecommendation:
    dimension: str
    level: int
    advice: str
    step_title: str
    step: str


@dataclass(frozen=True)
class Digest:
    period: str
    members: int
    respondents: int
    min_respondents: int
    overall: float | None = None
    level: int | None = None
    change: float | None = None
    dimensions: tuple[TeamDimension, ...] = ()
    top: TeamRecommendation | None = None
    measured: MeasuredSection | None = None  # the team's delivery signals, shown whatever the threshold
    targets: tuple[TargetProgress, ...] = ()  # the team's targets; figures only above the threshold
    # The team's own statement from its sessions, shown whatever the threshold (nobody's answers are
    # in it): per dimension the level its newest session agreed, and the channel's open actions.
    agreed: tuple[AgreedLevel, ...] = ()
    actions: tuple[TeamAction, ...] = ()  # the first of the open actions (overdue and soonest due first)
    open_actions: int = 0  # how many are open in all
    # The workspace's bank: a pack's name ("core"), "custom", or None for the deployment's default;
    # and the dimensions the previous digest had that this bank does not ask (ids, in its order).
    pack: str | None = None
    bank_version: str = ""
    not_asked: tuple[str, ...] = ()

    @property
    def visible(self) -> bool:
        return self.respondents >= self.min_respondents

    @property
    def needed(self) -> int:
        return max(0, self.min_respondents - self.respondents)

    def snapshot(self) -> dict[str, Any]:
        """What the next digest compares itself with (and `compass export --teams` reads back)."""
        if not self.visible:
            return {}
        snapshot: dict[str, Any] = {
            "overall": self.overall,
            "respondents": self.respondents,
            "dimensions": {d.id: d.mean for d in self.dimensions},
            "pack": self.pack,
            "bank_version": self.bank_version,
        }
        if self.measured is not None and self.measured.gap:
            snapshot["say_do"] = gap_json(self.measured.gap)
        return snapshot


TREND_PERIODS = 8  # periods a trend shows: a team's digest and the seven before it, a person's last results


@dataclass(frozen=True)
class PeriodFigures:
    """One sent digest's figures as its snapshot stored them, for the team's trend chart.

    ``shown`` False: that digest was under the respondent threshold (or stored no snapshot), so it
    has no figures at all."""

    label: str
    shown: bool
    overall: float | None = None
    dimensions: tuple[tuple[str, float | None], ...] = ()  # (dimension id, team mean)


def period_figures(label: str, snapshot: Any, min_respondents: int) -> PeriodFigures:
    """A stored ``Digest.snapshot`` read back under today's threshold: a digest that had fewer
    respondents than it (the setting was raised since) shows no figures either; one stored before
    snapshots counted respondents was over the threshold of its day and keeps its figures."""
    if not isinstance(snapshot, dict) or not snapshot:
        return PeriodFigures(label, False)
    respondents = snapshot.get("respondents")
    if (
        isinstance(respondents, int)
        and not isinstance(respondents, bool)
        and respondents < respondent_threshold(min_respondents)
    ):
        return PeriodFigures(label, False)
    means = snapshot.get("dimensions")
    dims = tuple((str(d), _number(m)) for d, m in means.items()) if isinstance(means, dict) else ()
    return PeriodFigures(label, True, _number(snapshot.get("overall")), dims)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _diff(new: float | None, old: Any) -> float | None:
    return None if new is None or not isinstance(old, int | float) else round(new - old, 4)


def build_digest(
    bank: Questionnaire,
    aggregate: TeamAggregate,
    *,
    members: int,
    min_respondents: int,
    period: str,
    previous: dict[str, Any] | None = None,
    signals: Signals | None = None,
    targets: Sequence[Target] = (),
    now: datetime | None = None,
    agreed: Sequence[AgreedLevel] = (),
    actions: Sequence[TeamAction] = (),
    open_actions: int | None = None,
    pack: str | None = None,
) -> Digest:
    """Turn team aggregates into a digest; figures only when enough people answered.

    ``signals``: what the team's delivery signals measured. They are about systems, never about
    a person, so they show below the threshold too, but are compared with the answers only above it.
    ``targets``: the team's targets, judged at ``now`` (required with targets); below the threshold
    they show without figures, unless a session agreed their dimension.
    ``agreed``: the levels the team's sessions agreed; a target of an agreed dimension is judged
    against the agreed level. ``actions``: the open actions to show, of ``open_actions`` in all.
    ``pack``: the name of the workspace's bank (None: the deployment's default). Figures compare with
    the previous digest's dimension by dimension, whatever bank each was answered on; a dimension
    the previous digest had and this bank lacks is named as not asked.
    """
    before_dims = (previous or {}).get("dimensions") or {}
    asked = {d.id for d in bank.dimensions}
    not_asked = tuple(str(d) for d in before_dims if d not in asked) if isinstance(before_dims, dict) else ()
    threshold = respondent_threshold(min_respondents)
    if targets and now is None:
        raise ValueError("targets are judged at a time: pass now")
    if aggregate.respondents < threshold:
        measured = None if signals is None else build_measured(bank, signals.measured, signals.channel_id, signals.days)
        hidden = _target_progress(bank, targets, (), now, agreed)
        return Digest(
            period,
            members,
            aggregate.respondents,
            threshold,
            measured=measured,
            targets=hidden,
            agreed=tuple(agreed),
            actions=tuple(actions),
            open_actions=len(actions) if open_actions is None else open_actions,
            pack=pack,
            bank_version=bank.version,
            not_asked=not_asked,
        )
    previous = previous or {}
    before = previous.get("dimensions") or {}
    by_id = {d.dimension_id: d for d in aggregate.dimensions}
    dims = []
    for dim in bank.dimensions:
        agg = by_id.get(dim.id)
        mean = None if agg is None or agg.mean is None else round(agg.mean, 4)
        dims.append(
            TeamDimension(
                id=dim.id,
                name=dim.name,
                mean=mean,
                level=None if mean is None else level_for(_clamp(mean)),
                spread=agg.levels if agg else (0, 0, 0, 0),
                change=_diff(mean, before.get(dim.id)),
                low=None if agg is None or agg.low is None else round(agg.low, 4),
                high=None if agg is None or agg.high is None else round(agg.high, 4),
            )
        )
    overall = None if aggregate.overall_mean is None else round(aggregate.overall_mean, 4)
    return Digest(
        period=period,
        members=members,
        respondents=aggregate.respondents,
        min_respondents=threshold,
        overall=overall,
        level=None if overall is None else level_for(_clamp(overall)),
        change=_diff(overall, previous.get("overall")),
        dimensions=tuple(dims),
        top=_recommend(bank, tuple(dims), aggregate.questions),
        measured=None if signals is None else signals.section(bank, aggregate.questions),
        targets=_target_progress(bank, targets, tuple(dims), now, agreed),
        agreed=tuple(agreed),
        actions=tuple(actions),
        open_actions=len(actions) if open_actions is None else open_actions,
        pack=pack,
        bank_version=bank.version,
        not_asked=not_asked,
    )


def _target_progress(
    bank: Questionnaire,
    targets: Sequence[Target],
    dims: tuple[TeamDimension, ...],
    now: datetime | None,
    agreed: Sequence[AgreedLevel] = (),
) -> tuple[TargetProgress, ...]:
    """Each target of a dimension the bank still has, in the bank's order: judged against the level a
    session agreed for its dimension where one did, else against the team mean in ``dims``; then the
    targets of dimensions the bank does not ask, marked so and never judged."""
    by_id = {d.id: d for d in dims}
    statements = {a.dimension_id: a for a in agreed}
    order = {d.id: i for i, d in enumerate(bank.dimensions)}
    shown = []
    not_asked: list[TargetProgress] = []
    for target in targets:
        if target.dimension_id not in order:
            # Set on another bank's dimension (the workspace switched packs): kept, said, never judged.
            label = target.dimension_id.replace("_", " ")
            not_asked.append(replace(progress(target, label, None, None, now or target.set_at), asked=False))
    for target in sorted((t for t in targets if t.dimension_id in order), key=lambda t: order[t.dimension_id]):
        assert now is not None
        dim = by_id.get(target.dimension_id)
        name = bank.dimension(target.dimension_id).name
        said = statements.get(target.dimension_id)
        if said is not None:
            shown.append(progress(target, name, said.score, None, now, agreed_on=said.on))
            continue
        shown.append(progress(target, name, dim.mean if dim else None, dim.change if dim else None, now))
    return (*shown, *not_asked)


@dataclass(frozen=True)
class Signals:
    """A team's measured delivery signals, for its digest."""

    channel_id: str
    days: int
    measured: dict[str, Measurement]

    def section(self, bank: Questionnaire, questions: tuple[QuestionAggregate, ...]) -> MeasuredSection | None:
        means = {q.question_id: q.mean_level for q in questions if q.answered}
        return build_measured(bank, self.measured, self.channel_id, self.days, means)


def _clamp(value: float) -> Fraction:
    # Means of values in [1, 4] stay there, but float sums may land a hair outside.
    return min(max(Fraction(str(value)), Fraction(1)), Fraction(4))


def _recommend(
    bank: Questionnaire, dims: tuple[TeamDimension, ...], questions: tuple[QuestionAggregate, ...]
) -> TeamRecommendation | None:
    scored = [d for d in dims if d.mean is not None and d.level is not None]
    if not scored:
        return None
    order = {d.id: i for i, d in enumerate(bank.dimensions)}
    weight = {d.id: sum(q.weight for q in bank.questions_in(d.id)) for d in bank.dimensions}
    weakest = min(scored, key=lambda d: (d.mean, -weight[d.id], order[d.id]))
    assert weakest.level is not None
    position = {q.id: i for i, q in enumerate(bank.questions)}
    candidates = [
        a
        for a in questions
        if bank.has_question(a.question_id) and bank.question(a.question_id).dimension == weakest.id and a.answered
    ]
    dimension = bank.dimension(weakest.id)
    if not candidates:
        return TeamRecommendation(weakest.name, weakest.level, dimension.recommendation(weakest.level), "", "")
    chosen = min(
        candidates,
        key=lambda a: (a.mean_level, -bank.question(a.question_id).weight, position[a.question_id]),
    )
    question = bank.question(chosen.question_id)
    level = level_for(_clamp(chosen.mean_level))
    return TeamRecommendation(
        dimension=weakest.name,
        level=weakest.level,
        advice=dimension.recommendation(weakest.level),
        step_title=question.title,
        step=question.next_step(level),
    )


@dataclass(frozen=True)
class ChannelAggregate:
    """One digest channel's figures for the teams overview, as the database computed them."""

    channel_id: str
    members: int
    respondents: int
    overall_mean: float | None
    dimension_means: tuple[tuple[str, float], ...]  # (dimension id, team mean)


@dataclass(frozen=True)
class TeamRow:
    """One team in the overview; below the threshold it carries no figures at all."""

    channel_id: str
    members: int
    respondents: int
    visible: bool
    overall: float | None = None
    level: int | None = None
    means: tuple[float | None, ...] = ()  # per dimension, in the bank's order (the heat map's cells)
    levels: tuple[int | None, ...] = ()


@dataclass(frozen=True)
class TeamsOverview:
    """Every digest channel side by side: one row per team, one column per dimension."""

    dimensions: tuple[str, ...]  # the dimension names, in the bank's order
    rows: tuple[TeamRow, ...]
    min_respondents: int


def build_overview(
    bank: Questionnaire, aggregates: Sequence[ChannelAggregate], *, min_respondents: int
) -> TeamsOverview:
    """The grid of `/compass teams`: the same anonymity threshold as the digest, per team."""
    threshold = respondent_threshold(min_respondents)
    rows = []
    for agg in aggregates:
        if agg.respondents < threshold:
            rows.append(TeamRow(agg.channel_id, agg.members, agg.respondents, visible=False))
            continue
        found = dict(agg.dimension_means)
        means = tuple(None if found.get(d.id) is None else round(found[d.id], 4) for d in bank.dimensions)
        overall = None if agg.overall_mean is None else round(agg.overall_mean, 4)
        rows.append(
            TeamRow(
                agg.channel_id,
                agg.members,
                agg.respondents,
                visible=True,
                overall=overall,
                level=None if overall is None else level_for(_clamp(overall)),
                means=means,
                levels=tuple(None if m is None else level_for(_clamp(m)) for m in means),
            )
        )
    return TeamsOverview(tuple(d.name for d in bank.dimensions), tuple(rows), threshold)
