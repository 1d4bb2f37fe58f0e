"""A facilitated team session: the team votes privately on each question, the facilitator reveals the
spread, the team agrees a level and may add owned actions, and the summary scores what was agreed.

Pure: which questions a session covers, what a session's words mean, what its live question shows
(how many voted, never who voted what), what a reveal may show under the respondent threshold, and
the summary. Storage, Slack and time come from the callers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.errors import CompassError
from bot.domain.questionnaire import Questionnaire
from bot.domain.scoring import Recommendation, score_answers
from bot.domain.targets import DimensionChoice, TargetProblem, resolve_dimension

IDLE_LIMIT = timedelta(hours=72)  # a session nobody touched for this long ends by itself
MIXED_SPAN = 2  # votes whose lowest and highest level lie this far apart or more are "mixed"
ACTION_TEXT_LIMIT = 200
NA = 0  # a vote of "not applicable" as stored (levels are 1-4)


class Stage(StrEnum):
    VOTING = "voting"  # votes are taken, hidden
    REVEALED = "revealed"  # the spread is shown; the facilitator agrees a level
    AGREED = "agreed"  # a level is agreed; actions may be added before the next question


class SessionProblem(CompassError):
    """Words or a click a session cannot act on; the detail is the one line to show."""

    user_message = "Use `/compass session [dimension | weakest | all]`, or `/compass session end`."


@dataclass(frozen=True)
class StartSession:
    """`/compass session [dimension | weakest | all]`: ``dimension`` None with ``everything`` False means
    the team's weakest dimension (or a choice for the facilitator when the team has no results)."""

    dimension: DimensionChoice | None = None
    everything: bool = False


@dataclass(frozen=True)
class EndSession:
    """`/compass session end`."""


SessionCommand = StartSession | EndSession


def parse_session_command(words: Sequence[str], dimensions: Sequence[DimensionChoice]) -> SessionCommand:
    """The words after `/compass session`. Raises SessionProblem naming the choices."""
    text = " ".join(words).strip()
    lowered = text.casefold()
    if lowered in ("", "weakest"):
        return StartSession()
    if lowered == "all":
        return StartSession(everything=True)
    if lowered in ("end", "stop", "finish"):
        return EndSession()
    try:
        return StartSession(resolve_dimension(text, dimensions))
    except TargetProblem as problem:
        raise SessionProblem(f"{problem.detail} Or `weakest`, or `all`.") from None


def questions_for(bank: Questionnaire, dimension_id: str | None) -> tuple[str, ...]:
    """The question ids a session covers, in the bank's order: one dimension's, or all (None)."""
    return tuple(q.id for q in bank.questions if dimension_id is None or q.dimension == dimension_id)


def weakest_dimension(bank: Questionnaire, means: Mapping[str, float | None]) -> str | None:
    """The dimension with the lowest mean (ties: the heavier, then the bank's order); None without means."""
    order = {d.id: i for i, d in enumerate(bank.dimensions)}
    scored = [(m, -bank.dimension(d).weight, order[d], d) for d, m in means.items() if m is not None and d in order]
    return min(scored)[3] if scored else None


def scope_label(bank: Questionnaire, dimension_id: str | None) -> str:
    if dimension_id is None:
        return "all dimensions"
    known = {d.id: d.name for d in bank.dimensions}
    return known.get(dimension_id, dimension_id)  # a dimension the bank no longer has keeps its id


# -- votes and the reveal --------------------------------------------------------------------


def vote_value(level: int | None) -> int:
    """A vote as stored: its level, or NA."""
    return NA if level is None else level


def voted_text(votes: int, members: int | None) -> str:
    """How many have voted, as the live question shows it (never who voted what)."""
    noun = "vote" if votes == 1 else "votes"
    if members and members >= votes:
        return f"{votes} of {members} voted"
    return f"{votes} {noun}"


@dataclass(frozen=True)
class Reveal:
    """What the reveal shows of one question's votes."""

    votes: int  # every vote, N/A included
    counts: tuple[int, int, int, int] | None  # per level 1-4; None when withheld (too few votes)
    not_applicable: int | None  # None when withheld
    mixed: bool  # the votes span MIXED_SPAN levels or more (never shown when withheld)
    threshold: int  # the fewest votes whose spread may be shown

    @property
    def withheld(self) -> bool:
        return self.counts is None


def reveal(values: Sequence[int], threshold: int) -> Reveal:
    """The reveal of these stored votes (levels, NA for not applicable): the spread only from
    ``threshold`` votes up, so that a small team's votes cannot be told apart."""
    if len(values) < threshold:
        return Reveal(len(values), None, None, mixed=False, threshold=threshold)
    tally = Counter(values)
    levels = [v for v in values if v != NA]
    mixed = bool(levels) and max(levels) - min(levels) >= MIXED_SPAN
    counts = (tally[1], tally[2], tally[3], tally[4])
    return Reveal(len(values), counts, tally[NA], mixed=mixed, threshold=threshold)


# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAction:
    text: str
    owner: str | None  # a Slack user id
    due: date | None


_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def check_action(text: str, owner: str | None, due: date | None, today: date) -> tuple[NewAction, dict[str, str]]:
    """An action as entered in the form, and the problems per field (empty when it may be kept)."""
    problems: dict[str, str] = {}
    cleaned = " ".join((text or "").split())
    if not cleaned:
        problems["what"] = "Say what the team will do."
    elif len(cleaned) > ACTION_TEXT_LIMIT:
        problems["what"] = f"Keep it under {ACTION_TEXT_LIMIT} characters ({len(cleaned)} now)."
    if owner is not None and not _USER.match(owner):
        problems["owner"] = "Choose a person."
    # A day of slack: "today" where the person is may still be yesterday in UTC, or already tomorrow.
    if due is not None and due < today - timedelta(days=1):
        problems["due"] = "Choose today or a later day."
    return NewAction(cleaned, owner, due), problems


# -- the summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreedQuestion:
    question_id: str
    title: str
    level: int | None  # None: agreed not applicable
    mixed: bool


@dataclass(frozen=True)
class AgreedDimension:
    dimension_id: str
    name: str
    score: float | None  # weighted as the questionnaire weighs, over the agreed questions
    level: int | None
    change: float | None  # since the team's previous session that agreed this dimension


@dataclass(frozen=True)
class Summary:
    questions: tuple[AgreedQuestion, ...]
    dimensions: tuple[AgreedDimension, ...]
    top: Recommendation | None  # for the weakest agreed dimension

    @property
    def mixed(self) -> tuple[AgreedQuestion, ...]:
        return tuple(q for q in self.questions if q.mixed)

    def snapshot(self) -> dict[str, float]:
        """Per dimension id, the agreed score (what the next session compares with)."""
        return {d.dimension_id: d.score for d in self.dimensions if d.score is not None}


@dataclass(frozen=True)
class Agreement:
    """One question's outcome as stored: the agreed level (None: not applicable) and whether it was mixed."""

    question_id: str
    level: int | None
    mixed: bool


def summarise(bank: Questionnaire, agreed: Sequence[Agreement], previous: Mapping[str, float] | None = None) -> Summary:
    """The summary of the agreed questions (those not reached are left out, not scored); ``previous``:
    the agreed score per dimension of the team's last session."""
    known = [a for a in agreed if bank.has_question(a.question_id)]
    score = score_answers(bank, {a.question_id: a.level for a in known})
    dims = tuple(
        AgreedDimension(
            d.dimension_id,
            d.name,
            float(d.score) if d.score is not None else None,
            d.level,
            _change(d.score, (previous or {}).get(d.dimension_id)),
        )
        for d in score.dimensions
        if d.answered or d.not_applicable
    )
    questions = tuple(
        AgreedQuestion(a.question_id, bank.question(a.question_id).title, a.level, a.mixed) for a in known
    )
    return Summary(questions, dims, score.top)


def _change(score: object, before: float | None) -> float | None:
    if score is None or before is None:
        return None
    return round(float(score) - before, 2)  # type: ignore[arg-type]


def idle_since(updated_at: datetime, now: datetime) -> bool:
    """Whether a session last touched at ``updated_at`` has been idle long enough to end by itself."""
    return now - updated_at >= IDLE_LIMIT


# -- afterwards: the team's other views ------------------------------------------------------


@dataclass(frozen=True)
class StoredAgreement:
    """An agreed question of an ended session, as the team's other views read it back."""

    session_id: int
    ended: date  # the day the session ended (UTC)
    agreement: Agreement


@dataclass(frozen=True)
class AgreedLevel:
    """A dimension's level as the team last agreed it in a session: its own statement."""

    dimension_id: str
    name: str
    score: float
    level: int
    on: date  # the day of the session that agreed it


def agreed_levels(bank: Questionnaire, stored: Sequence[StoredAgreement]) -> tuple[AgreedLevel, ...]:
    """Per dimension (in the bank's order), what the newest ended session that agreed it agreed, scored
    as that session's summary scored it. A dimension the newest session agreed as not applicable has
    no level (an older session's does not come back)."""
    found: dict[str, AgreedLevel | None] = {}
    for ended, agreements in _by_session(stored):
        for d in summarise(bank, agreements).dimensions:
            if d.dimension_id in found:
                continue
            found[d.dimension_id] = (
                None
                if d.score is None or d.level is None
                else AgreedLevel(d.dimension_id, d.name, round(d.score, 4), d.level, ended)
            )
    return tuple(a for dim in bank.dimensions if (a := found.get(dim.id)) is not None)


@dataclass(frozen=True)
class SessionScores:
    """One ended session's agreed score per dimension (the trend chart's markers)."""

    on: date
    scores: tuple[tuple[str, float], ...]  # (dimension id, agreed score), the bank's order


def session_scores(bank: Questionnaire, stored: Sequence[StoredAgreement]) -> tuple[SessionScores, ...]:
    """Each session's agreed scores, oldest first (sessions that agreed nothing scorable left out)."""
    found = []
    for ended, agreements in reversed(_by_session(stored)):
        scores = tuple(
            (d.dimension_id, round(d.score, 4)) for d in summarise(bank, agreements).dimensions if d.score is not None
        )
        if scores:
            found.append(SessionScores(ended, scores))
    return tuple(found)


def _by_session(stored: Sequence[StoredAgreement]) -> list[tuple[date, list[Agreement]]]:
    """The agreements grouped by session, the newest session first."""
    groups: dict[int, list[StoredAgreement]] = {}
    for s in stored:
        groups.setdefault(s.session_id, []).append(s)
    newest = sorted(groups.items(), key=lambda item: (item[1][0].ended, item[0]), reverse=True)
    return [(rows[0].ended, [r.agreement for r in rows]) for _, rows in newest]


@dataclass(frozen=True)
class TeamAction:
    """An open action of the team's sessions, as its digest shows it."""

    text: str
    owner: str | None  # a Slack user id
    due: date | None
    overdue: bool


def team_action(text: str, owner: str | None, due: date | None, today: date) -> TeamAction:
    return TeamAction(text, owner, due, due is not None and due < today)
