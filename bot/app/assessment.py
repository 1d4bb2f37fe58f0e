"""Taking an assessment: start, resume, answer, go back, start over. Each use case owns one
transaction (retried whole on a lost race) and returns plain values; the time is passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot.app.context import AppContext
from bot.app.retry import on_lost_race
from bot.app.types import AnswerResult, Click, Progress, StartResult, Who
from bot.db import assessments, people
from bot.db.assessments import StoredAssessment
from bot.domain import flow
from bot.domain.errors import BankChanged, NoAssessment, NotYourAssessment
from bot.domain.flow import Outcome, RunState, Status
from bot.domain.questionnaire import Questionnaire
from bot.domain.report import Report, build_report, with_change
from bot.domain.scoring import score_answers


def progress_of(
    bank: Questionnaire, stored: StoredAssessment, state: RunState, report: Report | None = None
) -> Progress:
    question = flow.current_question(bank, state) if stored.bank_hash == bank.content_hash else None
    has_prev = question is not None and question.id in state.answers
    return Progress(
        assessment_id=stored.id,
        status=state.status,
        position=state.position,
        total=len(bank),
        question=question,
        dimension_name=bank.dimension(question.dimension).name if question else "",
        previous_answer=state.answers.get(question.id) if question and has_prev else None,
        has_previous_answer=has_prev,
        version=state.version,
        report=report,
        channel_id=stored.channel_id,
        message_ts=stored.message_ts,
    )


def _start_new(
    session: Session, bank: Questionnaire, respondent_id: int, now: datetime, replaced: StoredAssessment | None = None
) -> Progress:
    """A new assessment; one that ``replaced`` another takes over its chat message, so that the
    message is emptied (like any earlier live message) when the new question is shown."""
    state = flow.start(bank, now)
    message = (replaced.channel_id, replaced.message_ts) if replaced else None
    stored = assessments.add_assessment(session, respondent_id, bank, state, message)
    return progress_of(bank, stored, state)


def _still_open(session: Session, bank: Questionnaire, stored: StoredAssessment, now: datetime) -> RunState | None:
    """The state of an open assessment, or None after expiring one that sat idle too long or was
    begun on another bank."""
    state = assessments.load_state(session, stored)
    expired = flow.is_expired(state, now)
    if not expired and stored.bank_hash == bank.content_hash:
        return state
    new = flow.expire(state, now) if expired else _forced_expiry(state, now)
    assessments.save_state(session, stored.id, bank, (state, new), now)
    return None


def _forced_expiry(state: RunState, now: datetime) -> RunState:
    return replace(state, status=Status.EXPIRED, version=state.version + 1, updated_at=now)


@on_lost_race
def start_assessment(ctx: AppContext, who: Who, now: datetime) -> StartResult:
    """Begin an assessment, or report the unfinished one so the caller can offer Resume."""
    with ctx.sessions.begin() as session:
        respondent = people.get_or_create_respondent(session, who.workspace, who.user, now, lock=True)
        stored = assessments.open_assessment(session, respondent, lock=True)
        state = None if stored is None else _still_open(session, ctx.bank, stored, now)
        if stored is not None and state is not None:
            return StartResult(progress_of(ctx.bank, stored, state), resumable=True)
        return StartResult(_start_new(session, ctx.bank, respondent, now), resumable=False)


@on_lost_race
def restart_assessment(ctx: AppContext, who: Who, now: datetime) -> Progress:
    """Abandon any unfinished assessment and begin a new one."""
    with ctx.sessions.begin() as session:
        respondent = people.get_or_create_respondent(session, who.workspace, who.user, now, lock=True)
        stored = assessments.open_assessment(session, respondent, lock=True)
        if stored is not None:
            state = assessments.load_state(session, stored)
            assessments.save_state(session, stored.id, ctx.bank, (state, flow.abandon(state, now)), now)
        return _start_new(session, ctx.bank, respondent, now, replaced=stored)


@on_lost_race
def current_progress(ctx: AppContext, who: Who, now: datetime) -> Progress | None:
    """The unfinished assessment, if any (expired ones are closed on the way)."""
    with ctx.sessions.begin() as session:
        respondent = people.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return None
        stored = assessments.open_assessment(session, respondent, lock=True)
        state = None if stored is None else _still_open(session, ctx.bank, stored, now)
        return None if stored is None or state is None else progress_of(ctx.bank, stored, state)


def _owned(session: Session, who: Who, assessment_id: int) -> StoredAssessment:
    found = assessments.owned_assessment(session, assessment_id)
    if found is None:
        raise NoAssessment()
    stored, workspace, user = found
    if (workspace, user) != (who.workspace, who.user):
        raise NotYourAssessment()
    return stored


@on_lost_race
def _apply(
    ctx: AppContext, who: Who, click: Click, now: datetime, transition: Callable[[RunState], flow.Step]
) -> AnswerResult:
    bank = ctx.bank
    with ctx.sessions.begin() as session:
        stored = _owned(session, who, click.assessment_id)
        if stored.status is Status.ASKING and stored.bank_hash != bank.content_hash:
            raise BankChanged()
        state = assessments.load_state(session, stored)
        step = transition(state)
        if step.changed and click.message_ts and stored.message_ts and click.message_ts != stored.message_ts:
            # A click on a message that no longer carries the assessment: only
            # the live message's buttons count, whatever question they show.
            step = flow.Step(state, Outcome.STALE)
        if not step.changed:
            report = _report_with_change(session, stored) if stored.status is Status.COMPLETE else None
            return AnswerResult(step.outcome, progress_of(bank, stored, state, report))
        assessments.save_state(session, stored.id, bank, (state, step.state), now)
        report = None
        if step.outcome is Outcome.COMPLETED:
            score = score_answers(bank, step.state.answers)
            report = build_report(score, bank.version, now)
            assessments.save_result(session, stored.id, score, report)
            report = _with_previous(session, stored, now, report)
        return AnswerResult(step.outcome, progress_of(bank, stored, step.state, report))


def record_answer(ctx: AppContext, who: Who, click: Click, now: datetime) -> AnswerResult:
    """Store an answer (``click.level`` 1-4, or None for N/A); stale and repeated clicks change nothing."""
    return _apply(ctx, who, click, now, lambda s: flow.answer(ctx.bank, s, click.question_id, click.level, now))


def go_back(ctx: AppContext, who: Who, click: Click, now: datetime) -> AnswerResult:
    """Step back from ``click.question_id`` to the previous question so its answer can be changed."""
    return _apply(ctx, who, click, now, lambda s: flow.back(ctx.bank, s, click.question_id, now))


def attach_message(ctx: AppContext, assessment_id: int, channel_id: str, message_ts: str) -> None:
    """Remember which chat message shows the assessment's live question."""
    with ctx.sessions.begin() as session:
        assessments.set_message(session, assessment_id, channel_id, message_ts)


def _report_with_change(session: Session, stored: StoredAssessment) -> Report | None:
    report = stored.report
    if report is None or stored.completed_at is None:
        return report
    return _with_previous(session, stored, stored.completed_at, report)


def _with_previous(session: Session, stored: StoredAssessment, completed_at: datetime, report: Report) -> Report:
    previous = assessments.previous_completed(session, stored.respondent_id, stored.id, completed_at)
    return with_change(report, None if previous is None else previous.report)
