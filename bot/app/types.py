"""Plain values the use cases take and return: no ORM rows, nothing of Slack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.domain.digest import TeamsOverview
from bot.domain.evidence import Evidence
from bot.domain.flow import Outcome, Status
from bot.domain.questionnaire import Question
from bot.domain.report import Report
from bot.domain.say_do import QuestionVerdict

LOCAL_WORKSPACE = "local"  # the workspace of people assessing in a terminal


@dataclass(frozen=True)
class Who:
    """A person: Slack team id and user id, or the local workspace and a login name."""

    workspace: str
    user: str


@dataclass(frozen=True)
class Click:
    """What a person's click (or typed answer) refers to.

    ``message_ts`` names the chat message the click came from; when the assessment now
    lives in another message, the click is stale. ``question_hash`` is the content hash of the
    question as the button showed it; a button shown before the question was edited is stale.
    """

    assessment_id: int
    question_id: str
    level: int | None = None  # 1-4, or None for "not applicable" (and for Back)
    message_ts: str | None = None
    question_hash: str | None = None  # None: not known (a typed answer, a button from an older release)


@dataclass(frozen=True)
class Progress:
    assessment_id: int
    status: Status
    position: int
    total: int
    question: Question | None
    dimension_name: str  # of the current question ("" when there is none)
    previous_answer: int | None  # the level already given to the current question (after Back)
    has_previous_answer: bool
    version: int
    report: Report | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    # The questions still without an answer, in bank order.
    unanswered: tuple[str, ...] = ()
    # One line to tell the person: the bank changed since the assessment began, and what that did
    # to their answers (bot/domain/rebase.py). Set only on the result that carried the assessment over.
    notice: str | None = None
    # What the team's measured delivery signals say about the current question (None: the question
    # cites no metric, the person's team has no signals, or nothing was measured yet).
    evidence: Evidence | None = None

    @property
    def number(self) -> int:
        """1-based number of the current question."""
        return self.position + 1


@dataclass(frozen=True)
class StartResult:
    progress: Progress
    resumable: bool  # True when an unfinished assessment exists and nothing new was started


@dataclass(frozen=True)
class AnswerResult:
    outcome: Outcome
    progress: Progress


@dataclass(frozen=True)
class HistoryEntry:
    assessment_id: int
    completed_at: datetime
    overall: float | None
    level: int | None
    change: float | None
    bank_version: str


@dataclass(frozen=True)
class DigestSetting:
    channel_id: str
    cadence: str
    paused_reason: str | None


# -- What one interaction in the DM or App Home returns: the whole view, decided here, rendered by Slack's side.


@dataclass(frozen=True)
class Answered:
    """The click just recorded, confirmed above the next question."""

    question_title: str
    level: int | None  # None: "not applicable"
    label: str  # the option's label ("" for not applicable)


@dataclass(frozen=True)
class MovedBack:
    """The person stepped back to change an answer."""


Note = Answered | MovedBack


class Closure(Enum):
    """Why a message no longer holds live buttons."""

    MOVED = "moved"  # the assessment continues in a newer message
    FINISHED = "finished"  # the assessment it showed is over
    NOTHING_TO_RESUME = "nothing_to_resume"  # finished, started over or expired meanwhile
    STARTS_BELOW = "starts_below"  # an invitation whose Start was clicked


@dataclass(frozen=True)
class QuestionScreen:
    progress: Progress
    note: Note | None = None


@dataclass(frozen=True)
class ClosedScreen:
    closure: Closure


@dataclass(frozen=True)
class AllAnswered:
    total: int
    note: Note | None


@dataclass(frozen=True)
class SnoozedScreen:
    until: datetime


Screen = QuestionScreen | ClosedScreen | AllAnswered | SnoozedScreen


@dataclass(frozen=True)
class NewQuestion:
    """Post the current question as a new message at the end of the DM and make it the live one.

    ``look_first``: the DM may already hold it (posted before a crash, its ts never recorded):
    find that message and take it over rather than posting a second one."""

    progress: Progress
    look_first: bool


@dataclass(frozen=True)
class ResumeOffer:
    progress: Progress


@dataclass(frozen=True)
class HomeData:
    """Everything App Home shows about a person."""

    report: Report | None
    history: tuple[HistoryEntry, ...]
    progress: Progress | None
    teams: TeamsOverview | None


@dataclass(frozen=True)
class Completion:
    """A finished assessment: its report (with the change since the previous one), the previous report
    (the radar's dashed outline) and what the team's signals measured per dimension."""

    report: Report
    previous: Report | None
    measured: Mapping[str, Evidence]
    contradicted: tuple[QuestionVerdict, ...] = ()  # answers the team's measurements contradict


@dataclass(frozen=True)
class DmView:
    """Everything one interaction changes in the person's DM and App Home, in the order it is shown.

    ``clicked``: what the clicked message becomes (None: it stays). ``close``: an older message that
    carried the assessment, emptied (channel, ts). ``post``: a new message at the end of the DM.
    ``completion``: the report (and its radar) after the last answer. ``home``: App Home republished.
    """

    clicked: Screen | None = None
    close: tuple[str, str] | None = None
    post: NewQuestion | ResumeOffer | None = None
    completion: Completion | None = None
    home: HomeData | None = None
