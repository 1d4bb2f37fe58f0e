"""Use cases. Each opens and owns one transaction; callers pass the time in."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import queries, scheduling, work_queue
from bot.db.models import Assessment
from bot.db.session import SessionFactory
from bot.domain import flow
from bot.domain.flow import Outcome, RunState, Status
from bot.domain.questionnaire import Question, Questionnaire
from bot.domain.report import Report, build_report, with_change
from bot.domain.scoring import score_answers
from bot.errors import BankChanged, NoAssessment, NotYourAssessment

log = logging.getLogger(__name__)

# A lost optimistic-lock race is retried this many times before giving up.
RETRIES = 3


@dataclass(frozen=True)
class Who:
    """A person: Slack team id and user id, or the local workspace and a login name."""

    workspace: str
    user: str


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


def _progress(bank: Questionnaire, row: Assessment, state: RunState, report: Report | None = None) -> Progress:
    question = flow.current_question(bank, state) if row.bank_hash == bank.content_hash else None
    has_prev = question is not None and question.id in state.answers
    return Progress(
        assessment_id=row.id,
        status=state.status,
        position=state.position,
        total=len(bank),
        question=question,
        dimension_name=bank.dimension(question.dimension).name if question else "",
        previous_answer=state.answers.get(question.id) if question and has_prev else None,
        has_previous_answer=has_prev,
        version=state.version,
        report=report,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
    )


def _start_new(session: Session, bank: Questionnaire, respondent_id: int, now: datetime) -> Progress:
    state = flow.start(bank, now)
    row = queries.add_assessment(session, respondent_id, bank, state)
    return _progress(bank, row, state)


def _close_stale_open(session: Session, bank: Questionnaire, row: Assessment, now: datetime) -> bool:
    """Expire an open assessment that sat idle too long or was begun on another bank."""
    state = queries.load_state(session, row)
    if flow.is_expired(state, now) or row.bank_hash != bank.content_hash:
        new = flow.expire(state, now) if flow.is_expired(state, now) else _forced_expiry(state, now)
        queries.save_state(session, row, bank, state, new, now)
        return True
    return False


def _forced_expiry(state: RunState, now: datetime) -> RunState:
    return RunState(Status.EXPIRED, state.position, state.answers, state.version + 1, state.started_at, now, None)


def start_assessment(sessions: SessionFactory, bank: Questionnaire, who: Who, now: datetime) -> StartResult:
    """Begin an assessment, or report the unfinished one so the caller can offer Resume."""
    for attempt in range(RETRIES):
        try:
            with sessions.begin() as session:
                respondent = queries.get_or_create_respondent(session, who.workspace, who.user, now, lock=True)
                row = queries.open_assessment(session, respondent.id, lock=True)
                if row is not None and not _close_stale_open(session, bank, row, now):
                    return StartResult(_progress(bank, row, queries.load_state(session, row)), resumable=True)
                return StartResult(_start_new(session, bank, respondent.id, now), resumable=False)
        except IntegrityError:
            # Two starts raced past the "no open assessment" check; the partial unique
            # index let only one through. Try again and find the winner's assessment.
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def restart_assessment(sessions: SessionFactory, bank: Questionnaire, who: Who, now: datetime) -> Progress:
    """Abandon any unfinished assessment and begin a new one."""
    for attempt in range(RETRIES):
        try:
            with sessions.begin() as session:
                respondent = queries.get_or_create_respondent(session, who.workspace, who.user, now, lock=True)
                row = queries.open_assessment(session, respondent.id, lock=True)
                if row is not None:
                    state = queries.load_state(session, row)
                    queries.save_state(session, row, bank, state, flow.abandon(state, now), now)
                return _start_new(session, bank, respondent.id, now)
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def current_progress(sessions: SessionFactory, bank: Questionnaire, who: Who, now: datetime) -> Progress | None:
    """The unfinished assessment, if any (expired ones are closed on the way)."""
    with sessions.begin() as session:
        respondent = queries.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return None
        row = queries.open_assessment(session, respondent.id, lock=True)
        if row is None or _close_stale_open(session, bank, row, now):
            return None
        return _progress(bank, row, queries.load_state(session, row))


def _owned(session: Session, who: Who, assessment_id: int) -> Assessment:
    found = queries.owned_assessment(session, assessment_id)
    if found is None:
        raise NoAssessment()
    row, workspace, user = found
    if (workspace, user) != (who.workspace, who.user):
        raise NotYourAssessment()
    return row


def _apply(
    sessions: SessionFactory,
    bank: Questionnaire,
    who: Who,
    assessment_id: int,
    now: datetime,
    transition: Callable[[RunState], flow.Step],
    message_ts: str | None = None,
) -> AnswerResult:
    for attempt in range(RETRIES):
        try:
            with sessions.begin() as session:
                row = _owned(session, who, assessment_id)
                if row.status == Status.ASKING.value and row.bank_hash != bank.content_hash:
                    raise BankChanged()
                state = queries.load_state(session, row)
                step = transition(state)
                if step.changed and message_ts and row.message_ts and message_ts != row.message_ts:
                    # A click on a message that no longer carries the assessment: only
                    # the live message's buttons count, whatever question they show.
                    step = flow.Step(state, Outcome.STALE)
                if not step.changed:
                    report = _report_for(session, row) if row.status == Status.COMPLETE.value else None
                    return AnswerResult(step.outcome, _progress(bank, row, state, report))
                queries.save_state(session, row, bank, state, step.state, now)
                report = None
                if step.outcome is Outcome.COMPLETED:
                    score = score_answers(bank, step.state.answers)
                    report = build_report(score, bank.version, now)
                    queries.save_result(session, row, score, report)
                    report = _with_previous(session, row, report)
                return AnswerResult(step.outcome, _progress(bank, row, step.state, report))
        except (queries.ConcurrentUpdate, IntegrityError):
            # PostgreSQL's row lock and SQLite's IMMEDIATE transactions make this rare;
            # on a lost race re-read the state and let the machine judge the click again.
            log.info("retrying assessment %s after a concurrent update", assessment_id)
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def record_answer(
    sessions: SessionFactory,
    bank: Questionnaire,
    who: Who,
    assessment_id: int,
    question_id: str,
    level: int | None,
    now: datetime,
    message_ts: str | None = None,
) -> AnswerResult:
    """Store an answer (level 1-4, or None for N/A); stale and repeated clicks change nothing.

    ``message_ts`` names the chat message the click came from; when the assessment
    now lives in another message, the click is stale.
    """
    return _apply(
        sessions, bank, who, assessment_id, now, lambda s: flow.answer(bank, s, question_id, level, now), message_ts
    )


def go_back(
    sessions: SessionFactory,
    bank: Questionnaire,
    who: Who,
    assessment_id: int,
    question_id: str,
    now: datetime,
    message_ts: str | None = None,
) -> AnswerResult:
    """Step back to the previous question so its answer can be changed."""
    return _apply(sessions, bank, who, assessment_id, now, lambda s: flow.back(bank, s, question_id, now), message_ts)


def attach_message(sessions: SessionFactory, assessment_id: int, channel_id: str, message_ts: str) -> None:
    """Remember which Slack message shows the assessment's live question."""
    with sessions.begin() as session:
        queries.set_message(session, assessment_id, channel_id, message_ts)


def _report_for(session: Session, row: Assessment) -> Report | None:
    report = queries.stored_report(row)
    return None if report is None else _with_previous(session, row, report)


def _with_previous(session: Session, row: Assessment, report: Report) -> Report:
    rows = queries.completed_assessments(session, row.respondent_id, limit=50)
    older = [r for r in rows if r.id != row.id and (r.completed_at, r.id) < (row.completed_at, row.id)]
    previous = queries.stored_report(older[0]) if older else None
    return with_change(report, previous)


def latest_report(sessions: SessionFactory, who: Who) -> Report | None:
    """The newest completed report with the change since the one before it."""
    with sessions.begin() as session:
        respondent = queries.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return None
        rows = queries.completed_assessments(session, respondent.id, limit=2)
        if not rows:
            return None
        report = queries.stored_report(rows[0])
        if report is None:
            return None
        previous = queries.stored_report(rows[1]) if len(rows) > 1 else None
        return with_change(report, previous)


def history(sessions: SessionFactory, who: Who, limit: int = 10) -> list[HistoryEntry]:
    """Completed assessments, newest first, each with the change since the one before."""
    with sessions.begin() as session:
        respondent = queries.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return []
        rows = queries.completed_assessments(session, respondent.id, limit=limit + 1)
    entries = []
    for i, row in enumerate(rows[:limit]):
        prev = rows[i + 1] if i + 1 < len(rows) else None
        change = None
        if prev is not None and row.overall_score is not None and prev.overall_score is not None:
            change = round(row.overall_score - prev.overall_score, 4)
        assert row.completed_at is not None
        entries.append(
            HistoryEntry(row.id, row.completed_at, row.overall_score, row.overall_level, change, row.bank_version)
        )
    return entries


def claim_event(sessions: SessionFactory, event_id: str, now: datetime) -> bool:
    """True the first time an Events API event id is seen, False for retries and duplicates."""
    with sessions.begin() as session:
        return queries.claim_event(session, event_id, now)


def forget_events(sessions: SessionFactory, before: datetime) -> int:
    """Drop the dedupe records of events received before ``before``; returns how many."""
    with sessions.begin() as session:
        return queries.forget_events(session, before)


# -- work queued by the web process for the worker ------------------------------------


def queue_work(sessions: SessionFactory, rows: Sequence[tuple[str, str, str]], now: datetime) -> None:
    """Keep acknowledged Slack requests, (kind, owner, JSON body), for the worker."""
    with sessions.begin() as session:
        work_queue.append(session, rows, now)


def lease_work(sessions: SessionFactory, now: datetime, lease: timedelta, limit: int) -> list[work_queue.Leased]:
    with sessions.begin() as session:
        return work_queue.lease(session, now, now + lease, limit)


def work_backlog(sessions: SessionFactory) -> tuple[int, datetime | None]:
    """Queued requests not yet done, and when the oldest was queued (None when there are none)."""
    with sessions() as session:
        return work_queue.backlog(session)


def extend_leases(sessions: SessionFactory, items: Sequence[work_queue.Leased], until: datetime) -> int:
    with sessions.begin() as session:
        return work_queue.extend(session, items, until)


def finish_work(sessions: SessionFactory, item: work_queue.Leased) -> bool:
    with sessions.begin() as session:
        return work_queue.remove(session, item)


# -- digests and reminders ------------------------------------------------------------


@dataclass(frozen=True)
class DigestSetting:
    channel_id: str
    cadence: str
    paused_reason: str | None


def subscribe_digest(
    sessions: SessionFactory, team: str, channel_id: str, cadence: str, user_id: str, now: datetime
) -> DigestSetting:
    """Send the team digest to a channel at a cadence (replaces an earlier setting)."""
    with sessions.begin() as session:
        ws_id = scheduling.workspace_id(session, team, now)
        row = scheduling.save_subscription(session, ws_id, channel_id, cadence, user_id, now)
        return DigestSetting(row.channel_id, row.cadence, row.paused_reason)


def unsubscribe_digest(sessions: SessionFactory, team: str, channel_id: str, now: datetime) -> bool:
    with sessions.begin() as session:
        return scheduling.delete_subscription(session, scheduling.workspace_id(session, team, now), channel_id)


def digest_settings(sessions: SessionFactory, team: str, now: datetime) -> list[DigestSetting]:
    with sessions.begin() as session:
        rows = scheduling.subscriptions(session, scheduling.workspace_id(session, team, now))
        return [DigestSetting(r.channel_id, r.cadence, r.paused_reason) for r in rows]


def set_reminders(
    sessions: SessionFactory, who: Who, now: datetime, paused: bool | None = None, snooze_until: datetime | None = None
) -> None:
    """Pause or resume invitations and reminders for a person, or snooze them until a time."""
    with sessions.begin() as session:
        respondent = queries.get_or_create_respondent(session, who.workspace, who.user, now)
        if paused is not None:
            respondent.reminders_paused = paused
        if snooze_until is not None:
            respondent.snoozed_until = snooze_until
