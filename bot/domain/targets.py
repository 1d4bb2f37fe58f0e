"""Team targets: "we move Monitoring & Governance to level 3 by 2027-Q2", and whether the team is
getting there.

Pure: the words of `/compass target`, quarter arithmetic (a target is due at the end of its
quarter), and progress judged against the straight line from the team's score when the target
was set to the target level at its deadline. The time is always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from bot.domain.errors import CompassError
from bot.domain.levels import LEVELS, level_for

BEHIND_MARGIN = 0.25  # behind when the score is more than this below the line to the target
USAGE = "`/compass target <dimension> <1-4> [by YYYY-Qn]`, `/compass target <dimension> off`, or `/compass target`"
_QUARTER = re.compile(r"^(?P<year>\d{4})-?q(?P<q>\d)$", re.IGNORECASE)
_LEVELISH = re.compile(r"^(l|level)?-?\d+$", re.IGNORECASE)


class TargetProblem(CompassError):
    """Input to `/compass target` that cannot be a target; the detail is the one line to show."""

    user_message = f"Use {USAGE}."


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1-4

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def starts(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=UTC)

    @property
    def deadline(self) -> datetime:
        """The end of the quarter (the first instant of the next one, UTC): when a target is due."""
        return self.following().starts

    def following(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)


def quarter_of(when: datetime) -> Quarter:
    when = when.astimezone(UTC)
    return Quarter(when.year, (when.month - 1) // 3 + 1)


def parse_quarter(text: str, now: datetime) -> Quarter:
    """``2027-Q2`` (also ``2027Q2``, any case); not one that has already ended."""
    match = _QUARTER.match(text.strip())
    if not match or not 1 <= int(match.group("q")) <= 4:
        raise TargetProblem(
            f"`{text[:20]}` is not a quarter: write it as YYYY-Qn, e.g. `by {quarter_of(now).following().label}`."
        )
    quarter = Quarter(int(match.group("year")), int(match.group("q")))
    if quarter.deadline <= now:
        raise TargetProblem(
            f"{quarter.label} is over: choose this quarter ({quarter_of(now).label}) or a later one, "
            f"e.g. `by {quarter_of(now).following().label}`."
        )
    return quarter


@dataclass(frozen=True)
class DimensionChoice:
    id: str
    name: str


@dataclass(frozen=True)
class ListTargets:
    pass


@dataclass(frozen=True)
class SetTarget:
    dimension: DimensionChoice
    level: int
    by: Quarter | None


@dataclass(frozen=True)
class RemoveTarget:
    dimension: DimensionChoice


TargetCommand = ListTargets | SetTarget | RemoveTarget


def _choices(dimensions: Sequence[DimensionChoice]) -> str:
    return ", ".join(f"`{d.id}` ({d.name})" for d in dimensions)


def resolve_dimension(text: str, dimensions: Sequence[DimensionChoice]) -> DimensionChoice:
    """A dimension by its id or an unambiguous, case-insensitive prefix of its name (or id)."""
    wanted = " ".join(text.split()).casefold()
    for d in dimensions:
        if d.id.casefold() == wanted or d.name.casefold() == wanted:
            return d
    found = [d for d in dimensions if d.name.casefold().startswith(wanted) or d.id.casefold().startswith(wanted)]
    if len(found) == 1:
        return found[0]
    shown = text[:40]
    if found:
        raise TargetProblem(f"`{shown}` could be {_choices(found)}: type more of the name, or the id.")
    raise TargetProblem(f"I know no dimension `{shown}`. Choose one of {_choices(dimensions)}.")


def parse_target_command(words: Sequence[str], dimensions: Sequence[DimensionChoice], now: datetime) -> TargetCommand:
    """The words after `/compass target`: nothing (list), ``<dimension> off``, or ``<dimension> <level> [by Q]``.

    The dimension may be several words (a name with spaces); it ends at the first word that is a
    level or ``off``. Raises TargetProblem with one line that names the valid choices.
    """
    if not words:
        return ListTargets()
    cut = next((i for i, w in enumerate(words) if i > 0 and (_LEVELISH.match(w) or w.lower() == "off")), None)
    if cut is None:
        try:
            dimension = resolve_dimension(" ".join(words), dimensions)
        except TargetProblem as problem:
            if len(words) == 1:
                raise
            try:  # "monitoring thre": the dimension is fine and the level is the typo
                resolve_dimension(" ".join(words[:-1]), dimensions)
            except TargetProblem:
                raise problem from None
            raise TargetProblem(f"`{words[-1][:10]}` is not a level: choose 1, 2, 3 or 4 (e.g. `L3` or `3`).") from None
        raise TargetProblem(
            f"Give a level for {dimension.name}: `/compass target {dimension.id} 3 by "
            f"{quarter_of(now).following().label}` (levels 1-4), or `off` to remove its target."
        )
    dimension = resolve_dimension(" ".join(words[:cut]), dimensions)
    word, rest = words[cut], list(words[cut + 1 :])
    if word.lower() == "off":
        if rest:
            raise TargetProblem(f"To remove a target, write only `/compass target {dimension.id} off`.")
        return RemoveTarget(dimension)
    digits = re.sub(r"\D", "", word)
    level = int(digits) if digits and "-" not in word else 0
    if level not in LEVELS:
        raise TargetProblem(f"`{word[:10]}` is not a level: choose 1, 2, 3 or 4 (e.g. `L3` or `3`).")
    if not rest:
        return SetTarget(dimension, level, None)
    if len(rest) != 2 or rest[0].lower() != "by":
        raise TargetProblem(
            f"I don't understand `{' '.join(rest)[:40]}`: add a date as `by YYYY-Qn`, e.g. "
            f"`/compass target {dimension.id} {level} by {quarter_of(now).following().label}`."
        )
    return SetTarget(dimension, level, parse_quarter(rest[1], now))


@dataclass(frozen=True)
class Target:
    """A team's target for one dimension, with the team's score when it was set (None: not shown then)."""

    dimension_id: str
    level: int
    by: Quarter | None
    baseline: float | None
    set_by: str
    set_at: datetime


class Standing(StrEnum):
    REACHED = "reached"
    ON_TRACK = "on track"
    BEHIND = "behind"
    NOT_JUDGED = "not judged yet"  # no date, or no team score when it was set


def expected_score(target: Target, now: datetime) -> float | None:
    """Where the team should be at ``now`` on the straight line from its score when the target was
    set to the target level at the deadline; the target level itself once the deadline has passed."""
    if target.by is None or target.baseline is None:
        return None
    deadline = target.by.deadline
    total = (deadline - target.set_at).total_seconds()
    if total <= 0 or now >= deadline:
        return float(target.level)
    share = max(0.0, (now - target.set_at).total_seconds() / total)
    return target.baseline + (target.level - target.baseline) * share


def standing(target: Target, current: float | None, now: datetime) -> Standing | None:
    """Reached, on track or behind; None when there is no current team score to judge."""
    if current is None:
        return None
    if level_for(min(max(current, 1.0), 4.0)) >= target.level:
        return Standing.REACHED
    expected = expected_score(target, now)
    if expected is None:
        return Standing.NOT_JUDGED
    return Standing.BEHIND if current < expected - BEHIND_MARGIN else Standing.ON_TRACK


@dataclass(frozen=True)
class TargetProgress:
    """One target as a digest or `/compass team` shows it. Figures are None below the threshold."""

    dimension_id: str
    dimension: str  # its name
    level: int
    by: str | None  # the quarter's label
    current: float | None
    change: float | None  # since the last digest
    expected: float | None  # on the line, now
    standing: Standing | None
    agreed_on: date | None = None  # judged against the level a team session agreed on this day
    asked: bool = True  # False: the workspace's questions (a pack without it) do not ask its dimension


def progress(
    target: Target,
    name: str,
    current: float | None,
    change: float | None,
    now: datetime,
    *,
    agreed_on: date | None = None,
) -> TargetProgress:
    """``current``: the team mean, or the score a session agreed on ``agreed_on``."""
    shown = current is not None
    return TargetProgress(
        dimension_id=target.dimension_id,
        dimension=name,
        level=target.level,
        by=target.by.label if target.by else None,
        current=current,
        change=change if shown else None,
        expected=expected_score(target, now) if shown else None,
        standing=standing(target, current, now),
        agreed_on=agreed_on,
    )
