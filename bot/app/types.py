"""Plain values the use cases take and return: no ORM rows, nothing of Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.evidence import Evidence
from bot.domain.flow import Outcome, Status
from bot.domain.questionnaire import Question
from bot.domain.report import Report

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
