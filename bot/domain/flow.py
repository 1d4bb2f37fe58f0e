"""The per-person assessment state machine.

INIT -> ASKING(n) -> COMPLETE, plus ABANDONED (started over) and EXPIRED (left
untouched too long). Every transition is a pure function of the questionnaire, the
current state, the event and the time passed in. Clicks that arrive late or twice
are a normal part of a chat UI, so they are modelled outcomes (STALE, DUPLICATE)
that leave the state untouched rather than errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import chain
from types import MappingProxyType

from bot.domain.questionnaire import Question, Questionnaire

# An in-progress assessment nobody touched for this long is expired, not resumed.
DEFAULT_EXPIRY = timedelta(days=30)


class Status(StrEnum):
    INIT = "init"
    ASKING = "asking"
    COMPLETE = "complete"
    ABANDONED = "abandoned"
    EXPIRED = "expired"


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # answer stored, moved to the next question
    COMPLETED = "completed"  # answer stored and it was the last one
    MOVED_BACK = "moved_back"
    STALE = "stale"  # click on a question that is not the current one
    DUPLICATE = "duplicate"  # the same answer to an already answered question
    CLOSED = "closed"  # the assessment is no longer in progress


class InvalidAnswer(ValueError):
    """An answer that no button could have produced (unknown level, N/A not allowed)."""


class UnknownQuestion(InvalidAnswer):
    pass


class NotApplicableRefused(InvalidAnswer):
    """N/A given to a question that does not allow it."""


class LevelOutOfRange(InvalidAnswer):
    pass


def check_answer(questionnaire: Questionnaire, question_id: str, level: int | None) -> None:
    """Raise the InvalidAnswer that fits unless ``level`` (1-4, or None for N/A) can answer the question."""
    if not questionnaire.has_question(question_id):
        raise UnknownQuestion(f"unknown question {question_id!r}")
    question = questionnaire.question(question_id)
    if level is None and not question.allow_na:
        raise NotApplicableRefused(f"question {question_id!r} has no 'not applicable' answer")
    if level is not None and level not in (1, 2, 3, 4):
        raise LevelOutOfRange(f"level must be 1-4, got {level!r}")


@dataclass(frozen=True)
class RunState:
    status: Status
    position: int  # index of the current question while ASKING
    answers: Mapping[str, int | None] = field(default_factory=lambda: MappingProxyType({}))
    version: int = 0  # bumped on every accepted change; guards concurrent writers
    started_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.status is Status.ASKING


@dataclass(frozen=True)
class Step:
    state: RunState
    outcome: Outcome

    @property
    def changed(self) -> bool:
        return self.outcome in (Outcome.ACCEPTED, Outcome.COMPLETED, Outcome.MOVED_BACK)


def initial() -> RunState:
    return RunState(status=Status.INIT, position=0)


def start(questionnaire: Questionnaire, now: datetime) -> RunState:
    """A fresh assessment positioned at the first question."""
    if len(questionnaire) == 0:
        raise ValueError("the questionnaire has no questions")
    return RunState(Status.ASKING, 0, MappingProxyType({}), 1, now, now, None)


def current_question(questionnaire: Questionnaire, state: RunState) -> Question | None:
    if state.status is not Status.ASKING:
        return None
    return questionnaire.questions[state.position]


def answer(questionnaire: Questionnaire, state: RunState, question_id: str, level: int | None, now: datetime) -> Step:
    """Apply an answer (a level 1-4, or None for N/A) to the question it was given for, and move
    on to the next question without an answer; the assessment completes once every question has one.

    Raises:
        InvalidAnswer: unknown question, level outside 1-4, or N/A where not allowed.
    """
    check_answer(questionnaire, question_id, level)
    if state.status is not Status.ASKING:
        return Step(state, Outcome.CLOSED)
    current = questionnaire.questions[state.position]
    if current.id != question_id:
        already = question_id in state.answers and state.answers[question_id] == level
        return Step(state, Outcome.DUPLICATE if already else Outcome.STALE)
    answers = dict(state.answers)
    answers[question_id] = level
    frozen = MappingProxyType(answers)
    nxt = _after(questionnaire, state, frozen)
    if nxt is None:
        done = replace(
            state,
            status=Status.COMPLETE,
            answers=frozen,
            version=state.version + 1,
            updated_at=now,
            completed_at=now,
        )
        return Step(done, Outcome.COMPLETED)
    moved = replace(state, position=nxt, answers=frozen, version=state.version + 1, updated_at=now)
    return Step(moved, Outcome.ACCEPTED)


def first_unanswered(questionnaire: Questionnaire, answers: Mapping[str, int | None]) -> int | None:
    """Index of the first question without an answer, or None when every question has one."""
    return next((i for i, q in enumerate(questionnaire.questions) if q.id not in answers), None)


def _after(questionnaire: Questionnaire, state: RunState, answers: Mapping[str, int | None]) -> int | None:
    """Where answering the current question leads, or None when nothing is left to answer.

    After Back, the answers up to the first open question are walked again in order, as
    before. Past that point an answer kept from an earlier version of the bank (see
    ``rebase``) is not asked again: the next open question comes next.
    """
    count = len(questionnaire)
    opening = first_unanswered(questionnaire, state.answers)
    nxt = state.position + 1
    if nxt < (count if opening is None else opening):
        return nxt
    for i in chain(range(nxt, count), range(state.position)):
        if questionnaire.questions[i].id not in answers:
            return i
    return None


def back(questionnaire: Questionnaire, state: RunState, from_question_id: str, now: datetime) -> Step:
    """Return to the previous question so its answer can be changed.

    ``from_question_id`` is the question the Back button was shown on: a Back click
    from an older message is stale and moves nothing.
    """
    if state.status is not Status.ASKING:
        return Step(state, Outcome.CLOSED)
    if questionnaire.questions[state.position].id != from_question_id:
        return Step(state, Outcome.STALE)
    if state.position == 0:
        return Step(state, Outcome.STALE)
    moved = replace(state, position=state.position - 1, version=state.version + 1, updated_at=now)
    return Step(moved, Outcome.MOVED_BACK)


def abandon(state: RunState, now: datetime) -> RunState:
    """Close an in-progress assessment because the person started over."""
    if state.status is not Status.ASKING:
        return state
    return replace(state, status=Status.ABANDONED, version=state.version + 1, updated_at=now)


def is_expired(state: RunState, now: datetime, max_idle: timedelta = DEFAULT_EXPIRY) -> bool:
    return state.status is Status.ASKING and state.updated_at is not None and now - state.updated_at > max_idle


def expire(state: RunState, now: datetime, max_idle: timedelta = DEFAULT_EXPIRY) -> RunState:
    """Mark an in-progress assessment expired if it sat idle longer than ``max_idle``."""
    if not is_expired(state, now, max_idle):
        return state
    return replace(state, status=Status.EXPIRED, version=state.version + 1, updated_at=now)
