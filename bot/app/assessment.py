"""Taking an assessment: start, resume, answer, go back, start over. Each use case owns one
transaction (retried whole on a lost race) and returns plain values; the time is passed in.

An unfinished assessment begun on another version of the question bank is carried over to the
bank in use (bot/domain/rebase.py) by the first use case that shows it to the person: start,
resume, or a click on one of its messages. That result's ``Progress.notice`` says what changed.
``current_progress`` only looks: it shows where the assessment would resume and stores nothing,
so that the notice is not spent on a surface that does not show it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot.app.context import AppContext
from bot.app.evidence import TeamSignals
from bot.app.retry import on_lost_race
from bot.app.types import AnswerResult, Click, Progress, StartResult, Who
from bot.db import assessments, people
from bot.db.assessments import StoredAssessment
from bot.domain import flow
from bot.domain.errors import NoAssessment, NotYourAssessment
from bot.domain.flow import Outcome, RunState, Status
from bot.domain.questionnaire import Questionnaire
from bot.domain.rebase import rebase
from bot.domain.report import Report, build_report, with_change
from bot.domain.scoring import score_answers


def progress_of(
    bank: Questionnaire,
    stored: StoredAssessment,
    state: RunState,
    report: Report | None = None,
    notice: str | None = None,
) -> Progress:
    """Where ``state`` stands; an assessment in progress must be on ``bank`` (carried over first)."""
    question = flow.current_question(bank, state)
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
        unanswered=tuple(q.id for q in bank if q.id not in state.answers) if question is not None else (),
        notice=notice,
    )


def _start_new(
    session: Session,
    bank: Questionnaire,
    respondent_id: int,
    now: datetime,
    *,
    replaced: StoredAssessment | None = None,
    notice: str | None = None,
    bank_name: str | None = None,
) -> Progress:
    """A new assessment; one that ``replaced`` another takes over its chat message, so that the
    message is emptied (like any earlier live message) when the new question is shown."""
    state = flow.start(bank, now)
    message = (replaced.channel_id, replaced.message_ts) if replaced else None
    stored = assessments.add_assessment(session, respondent_id, bank, state, message, bank_name=bank_name)
    return progress_of(bank, stored, state, notice=notice)


def _on_bank(
    session: Session,
    bank: Questionnaire,
    stored: StoredAssessment,
    state: RunState,
    now: datetime,
    *,
    store: bool = True,
    bank_name: str | None = None,
) -> tuple[RunState | None, str | None]:
    """An open assessment's state on ``bank``, and the notice for the person when it was carried
    over from another version of the bank; the state is None when nothing of it survived and it
    was closed. With ``store`` False a carry-over is worked out but not stored (the hashes an
    assessment begun before migration 0006 lacks are filled in either way: that is always right)."""
    if stored.bank_hash == bank.content_hash:
        if stored.bank_questions is None:
            # Begun before answers kept their question's hash (migration 0006), on this very bank:
            # every answer was given to the questions as they are now.
            assessments.fill_question_hashes(session, stored.id, bank)
        return state, None
    change = rebase(bank, state, assessments.question_hashes(session, stored.id), stored.bank_questions, now)
    if not store:
        looked = None if change.closed else replace(change.state, version=state.version, updated_at=state.updated_at)
        return looked, change.notice
    assessments.save_state(session, stored.id, bank, (state, change.state), now)
    if change.closed:
        return None, change.notice
    assessments.move_to_bank(session, stored.id, bank, bank_name)
    return change.state, change.notice


def _still_open(
    session: Session,
    bank: Questionnaire,
    stored: StoredAssessment,
    now: datetime,
    *,
    store: bool = True,
    bank_name: str | None = None,
) -> tuple[RunState | None, str | None]:
    """An open assessment's state on ``bank`` and the notice of a carry-over (see ``_on_bank``);
    None, with no notice, after expiring one that sat idle too long."""
    state = assessments.load_state(session, stored)
    if flow.is_expired(state, now):
        assessments.save_state(session, stored.id, bank, (state, flow.expire(state, now)), now)
        return None, None
    return _on_bank(session, bank, stored, state, now, store=store, bank_name=bank_name)


@dataclass(frozen=True)
class Tx:
    """One use case's transaction: the session, the bank of the person's workspace (and its name,
    None for the deployment's default), who acts, when, and their team's signals (read at most
    once in the transaction)."""

    session: Session
    bank: Questionnaire
    who: Who
    now: datetime
    signals: TeamSignals
    bank_name: str | None = None

    @classmethod
    def of(cls, session: Session, ctx: AppContext, who: Who, now: datetime) -> Tx:
        in_use = ctx.banks.in_use(session, who.workspace)
        signals = TeamSignals(session, who, now, ctx.measured)
        return cls(session, in_use.bank, who, now, signals, in_use.name)

    def shown(self, progress: Progress) -> Progress:
        """``progress`` as the person sees it: with the measured evidence of its current question."""
        return self.signals.with_evidence(progress)


def start_in(tx: Tx) -> StartResult:
    """Begin an assessment, or report the unfinished one (carried over to the current bank if that
    changed) so the caller can offer Resume."""
    session, bank, now = tx.session, tx.bank, tx.now
    respondent = people.get_or_create_respondent(session, tx.who.workspace, tx.who.user, now, lock=True)
    stored = assessments.open_assessment(session, respondent, lock=True)
    if stored is None:
        return StartResult(_start_new(session, bank, respondent, now, bank_name=tx.bank_name), resumable=False)
    state, notice = _still_open(session, bank, stored, now, bank_name=tx.bank_name)
    if state is not None:
        return StartResult(progress_of(bank, stored, state, notice=notice), resumable=True)
    replaced = stored if notice else None  # closed by a bank change: the new one takes over its message
    return StartResult(
        _start_new(session, bank, respondent, now, replaced=replaced, notice=notice, bank_name=tx.bank_name),
        resumable=False,
    )


def resume_in(tx: Tx) -> Progress | None:
    """The unfinished assessment at its current question, carried over to the current bank if that
    changed; a fresh one when none of its answers survived that. None when there is no unfinished
    assessment (it was finished, started over or expired meanwhile)."""
    session, bank, now = tx.session, tx.bank, tx.now
    respondent = people.find_respondent(session, tx.who.workspace, tx.who.user)
    stored = None if respondent is None else assessments.open_assessment(session, respondent, lock=True)
    if stored is None:
        return None
    state, notice = _still_open(session, bank, stored, now, bank_name=tx.bank_name)
    if state is not None:
        return progress_of(bank, stored, state, notice=notice)
    if notice is None:
        return None
    return _start_new(session, bank, stored.respondent_id, now, replaced=stored, notice=notice, bank_name=tx.bank_name)


def restart_in(tx: Tx) -> Progress:
    """Abandon any unfinished assessment and begin a new one."""
    session, bank, now = tx.session, tx.bank, tx.now
    respondent = people.get_or_create_respondent(session, tx.who.workspace, tx.who.user, now, lock=True)
    stored = assessments.open_assessment(session, respondent, lock=True)
    if stored is not None:
        state = assessments.load_state(session, stored)
        assessments.save_state(session, stored.id, bank, (state, flow.abandon(state, now)), now)
    return _start_new(session, bank, respondent, now, replaced=stored, bank_name=tx.bank_name)


def current_in(tx: Tx) -> Progress | None:
    """The unfinished assessment, if any (expired ones are closed on the way). One begun on another
    bank is shown where it would resume, with the notice it would get, but is not carried over:
    None when none of its answers would survive."""
    session = tx.session
    respondent = people.find_respondent(session, tx.who.workspace, tx.who.user)
    if respondent is None:
        return None
    stored = assessments.open_assessment(session, respondent, lock=True)
    if stored is None:
        return None
    state, notice = _still_open(session, tx.bank, stored, tx.now, store=False)
    return None if state is None else progress_of(tx.bank, stored, state, notice=notice)


@on_lost_race
def start_assessment(ctx: AppContext, who: Who, now: datetime) -> StartResult:
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        started = start_in(tx)
        return replace(started, progress=tx.shown(started.progress))


@on_lost_race
def resume_assessment(ctx: AppContext, who: Who, now: datetime) -> Progress | None:
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        progress = resume_in(tx)
        return None if progress is None else tx.shown(progress)


@on_lost_race
def restart_assessment(ctx: AppContext, who: Who, now: datetime) -> Progress:
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        return tx.shown(restart_in(tx))


@on_lost_race
def current_progress(ctx: AppContext, who: Who, now: datetime) -> Progress | None:
    with ctx.sessions.begin() as session:
        return current_in(Tx.of(session, ctx, who, now))


def owned(session: Session, who: Who, assessment_id: int) -> StoredAssessment:
    """The assessment (row-locked), when it is ``who``'s; NoAssessment or NotYourAssessment otherwise."""
    found = assessments.owned_assessment(session, assessment_id)
    if found is None:
        raise NoAssessment()
    stored, workspace, user = found
    if (workspace, user) != (who.workspace, who.user):
        raise NotYourAssessment()
    return stored


@dataclass(frozen=True)
class Applied:
    """A click judged and stored: the outcome, where the assessment stands, and for a completed one
    the report's predecessor (the radar's dashed outline)."""

    result: AnswerResult
    previous: Report | None = None
    answers: Mapping[str, int | None] = field(default_factory=dict)  # a completed assessment's, for its report


Transition = Callable[[Questionnaire, RunState, datetime], flow.Step]


def apply_in(tx: Tx, click: Click, transition: Transition) -> Applied:
    """Judge a click on a question message and store what it changed; stale and repeated clicks
    change nothing. The returned progress has no evidence line yet (``Tx.shown``)."""
    session, bank, now = tx.session, tx.bank, tx.now
    stored = owned(session, tx.who, click.assessment_id)
    state = assessments.load_state(session, stored)
    if stored.status is Status.ASKING and stored.bank_hash != bank.content_hash:
        # The click was on a question shown before the bank was edited: it is not recorded;
        # the assessment moves to the current bank and the person is told what that changed.
        carried, notice = _on_bank(session, bank, stored, state, now, bank_name=tx.bank_name)
        if carried is None:
            fresh = _start_new(
                session, bank, stored.respondent_id, now, replaced=stored, notice=notice, bank_name=tx.bank_name
            )
            return Applied(AnswerResult(Outcome.STALE, fresh))
        return Applied(AnswerResult(Outcome.STALE, progress_of(bank, stored, carried, notice=notice)))
    if stored.status is Status.ASKING and stored.bank_questions is None:
        _on_bank(session, bank, stored, state, now)  # records the question hashes it was begun without
    if not _shown_as_now(bank, click):
        step = flow.Step(state, Outcome.STALE if stored.status is Status.ASKING else Outcome.CLOSED)
    else:
        step = transition(bank, state, now)
    if step.changed and click.message_ts and stored.message_ts and click.message_ts != stored.message_ts:
        # A click on a message that no longer carries the assessment: only
        # the live message's buttons count, whatever question they show.
        step = flow.Step(state, Outcome.STALE)
    if not step.changed:
        report = _report_with_change(session, stored) if stored.status is Status.COMPLETE else None
        return Applied(AnswerResult(step.outcome, progress_of(bank, stored, state, report)))
    assessments.save_state(session, stored.id, bank, (state, step.state), now)
    if step.outcome in (Outcome.ACCEPTED, Outcome.COMPLETED) and bank.question(click.question_id).evidence:
        tx.signals.record_agreement(stored.id, bank.question(click.question_id), click.level)
    if step.outcome is not Outcome.COMPLETED:
        return Applied(AnswerResult(step.outcome, progress_of(bank, stored, step.state)))
    score = score_answers(bank, step.state.answers)
    report = build_report(score, bank.version, now)
    assessments.save_result(session, stored.id, score, report)
    previous = assessments.previous_completed(session, stored.respondent_id, stored.id, now)
    previous_report = None if previous is None else previous.report
    report = with_change(report, previous_report)
    result = AnswerResult(step.outcome, progress_of(bank, stored, step.state, report))
    return Applied(result, previous_report, step.state.answers)


def answering(click: Click) -> Transition:
    """The transition of an answer click (``click.level`` 1-4, or None for N/A)."""
    return lambda bank, state, now: flow.answer(bank, state, click.question_id, click.level, now)


def stepping_back(click: Click) -> Transition:
    """The transition of Back on ``click.question_id``."""
    return lambda bank, state, now: flow.back(bank, state, click.question_id, now)


def _shown_as_now(bank: Questionnaire, click: Click) -> bool:
    """Whether the clicked button showed its question as the bank has it now: not one removed
    from the bank, nor one shown before its text, options or weight were edited."""
    if not bank.has_question(click.question_id):
        return False
    return click.question_hash is None or click.question_hash == bank.question(click.question_id).content_hash


@on_lost_race
def _click(ctx: AppContext, who: Who, click: Click, now: datetime, transition: Transition) -> AnswerResult:
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        result = apply_in(tx, click, transition).result
        return replace(result, progress=tx.shown(result.progress))


def record_answer(ctx: AppContext, who: Who, click: Click, now: datetime) -> AnswerResult:
    """Store an answer (``click.level`` 1-4, or None for N/A); stale and repeated clicks change nothing."""
    return _click(ctx, who, click, now, answering(click))


def go_back(ctx: AppContext, who: Who, click: Click, now: datetime) -> AnswerResult:
    """Step back from ``click.question_id`` to the previous question so its answer can be changed."""
    return _click(ctx, who, click, now, stepping_back(click))


def attach_message(ctx: AppContext, assessment_id: int, channel_id: str, message_ts: str) -> None:
    """Remember which chat message shows the assessment's live question."""
    with ctx.sessions.begin() as session:
        assessments.set_message(session, assessment_id, channel_id, message_ts)


def _report_with_change(session: Session, stored: StoredAssessment) -> Report | None:
    report = stored.report
    if report is None or stored.completed_at is None:
        return report
    previous = assessments.previous_completed(session, stored.respondent_id, stored.id, stored.completed_at)
    return with_change(report, None if previous is None else previous.report)
