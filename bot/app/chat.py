"""The assessment in a person's DM and App Home: one use case per interaction.

Each runs in one transaction (retried whole when it loses a race) and returns a ``DmView``: what
the clicked message becomes, which older message is emptied, what is posted, the report and
App Home, all decided here. The Slack side renders the view and sends it; it decides nothing.
The only second transaction of an interaction is ``question_posted``: a new message's ts is
known only once Slack has posted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app import home
from bot.app.assessment import (
    Transition,
    Tx,
    answering,
    apply_in,
    owned,
    restart_in,
    resume_in,
    start_in,
    stepping_back,
)
from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.app.retry import on_lost_race
from bot.app.types import (
    AllAnswered,
    Answered,
    Click,
    ClosedScreen,
    Closure,
    Completion,
    DmView,
    HomeData,
    MovedBack,
    NewQuestion,
    Note,
    Progress,
    QuestionScreen,
    ResumeOffer,
    Screen,
    SnoozedScreen,
    Who,
)
from bot.db import assessments, events, people
from bot.domain.flow import Outcome, Status
from bot.domain.questionnaire import Questionnaire

SNOOZE = timedelta(days=3)

Where = tuple[str, str]  # a chat message: channel id, ts


@dataclass(frozen=True)
class Origin:
    """Where an interaction came from: the clicked message (None for App Home and commands), and
    whether App Home is to be republished (a click in App Home)."""

    clicked: Where | None = None
    in_home: bool = False


def answer(ctx: AppContext, who: Who, click: Click, now: datetime, settings: OutreachSettings) -> DmView:
    """An answer button (or N/A): store it once; the message moves on to the next question, or to
    the report after the last one."""
    return _on_question(ctx, who, click, now, _Step(answering(click), settings))


def back(ctx: AppContext, who: Who, click: Click, now: datetime, settings: OutreachSettings) -> DmView:
    """Back: the message shows the previous question, its answer ready to change."""
    return _on_question(ctx, who, click, now, _Step(stepping_back(click), settings))


@dataclass(frozen=True)
class _Step:
    transition: Transition
    settings: OutreachSettings


@on_lost_race
def _on_question(ctx: AppContext, who: Who, click: Click, now: datetime, step: _Step) -> DmView:
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        applied = apply_in(tx, click, step.transition)
        outcome, progress = applied.result.outcome, tx.shown(applied.result.progress)
        note = _note(tx.bank, click, outcome)
        if outcome is not Outcome.COMPLETED:
            return DmView(clicked=_clicked_screen(outcome, progress, click, note))
        assert progress.report is not None
        completion = Completion(
            progress.report,
            applied.previous,
            tx.signals.by_dimension(tx.bank),
            tx.signals.contradicted(tx.bank, applied.answers),
        )
        return DmView(
            clicked=AllAnswered(progress.total, note),
            completion=completion,
            home=home.home_in(tx, step.settings),
        )


def _note(bank: Questionnaire, click: Click, outcome: Outcome) -> Note | None:
    if outcome is Outcome.MOVED_BACK:
        return MovedBack()
    if outcome not in (Outcome.ACCEPTED, Outcome.COMPLETED):
        return None  # nothing was recorded (and the clicked question may no longer be in the bank)
    question = bank.question(click.question_id)
    label = "" if click.level is None else question.option(click.level).label
    return Answered(question.title, click.level, label)


def _clicked_screen(outcome: Outcome, progress: Progress, click: Click, note: Note | None) -> Screen | None:
    """What the clicked question message shows after a click that did not finish the assessment."""
    if outcome in (Outcome.ACCEPTED, Outcome.MOVED_BACK):
        return QuestionScreen(progress, note)
    asking = progress.status is Status.ASKING
    if progress.notice and asking:
        # The question bank was edited since this message was posted: the assessment was carried
        # over (or begun afresh), and the message the person clicked shows where it goes on.
        return QuestionScreen(progress)
    if asking and progress.message_ts in (None, click.message_ts):
        # A repeated click on the live message: show the current question again, which also
        # repairs the message if the previous update never reached Slack.
        return QuestionScreen(progress)
    if asking:
        return ClosedScreen(Closure.MOVED)
    if progress.message_ts != click.message_ts:
        return ClosedScreen(Closure.FINISHED)
    return None  # a late click on the message that already shows the completion note


@on_lost_race
def start(ctx: AppContext, who: Who, now: datetime, origin: Origin, settings: OutreachSettings) -> DmView:
    """`/compass start`, or Start in App Home or on an invitation: the first question in the DM, or the
    offer to resume the unfinished assessment.

    An unfinished assessment with no recorded message (a repeated start after the first one's post
    failed or was never recorded) has no message to resume from: its current question is posted,
    taking over the one already in the DM if there is one (``NewQuestion.look_first``)."""
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        started = start_in(tx)
        progress = tx.shown(started.progress)
        post: NewQuestion | ResumeOffer
        if not started.resumable:
            post = NewQuestion(progress, look_first=False)
        elif progress.message_ts is None:
            post = NewQuestion(progress, look_first=True)
        else:
            # The offer has no answer buttons; its Resume turns it into the question and empties
            # the old message, so only one message at a time takes answers.
            post = ResumeOffer(progress)
        clicked = ClosedScreen(Closure.STARTS_BELOW) if origin.clicked else None
        return DmView(clicked=clicked, post=post, home=_home_if(tx, origin, settings))


@on_lost_race
def resume(ctx: AppContext, who: Who, now: datetime, origin: Origin, settings: OutreachSettings) -> DmView:
    """Resume: the unfinished assessment at its current question (saying so if the bank changed), in
    the clicked message, or in a new one when clicked in App Home."""
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        progress = resume_in(tx)
        if progress is None:
            return DmView(clicked=ClosedScreen(Closure.NOTHING_TO_RESUME) if origin.clicked else None)
        return _continue(tx, progress, origin, _Continue(settings, fresh=False))


@on_lost_race
def start_over(ctx: AppContext, who: Who, now: datetime, origin: Origin, settings: OutreachSettings) -> DmView:
    """Start over: abandon the unfinished assessment and begin again at the first question."""
    with ctx.sessions.begin() as session:
        tx = Tx.of(session, ctx, who, now)
        return _continue(tx, restart_in(tx), origin, _Continue(settings, fresh=True))


@dataclass(frozen=True)
class _Continue:
    settings: OutreachSettings
    fresh: bool  # begun just now: none of its messages can exist yet


def _continue(tx: Tx, progress: Progress, origin: Origin, how: _Continue) -> DmView:
    progress = tx.shown(progress)
    if origin.clicked is None:  # clicked in App Home: continue in the DM
        return DmView(post=NewQuestion(progress, look_first=not how.fresh), home=_home_if(tx, origin, how.settings))
    close = _take_over(tx, progress, origin.clicked)
    return DmView(clicked=QuestionScreen(progress), close=close)


def _take_over(tx: Tx, progress: Progress, where: Where) -> Where | None:
    """Make ``where`` the one message whose buttons count; the message that was live before, to empty."""
    before = (progress.channel_id, progress.message_ts)
    if before == where:
        return None
    assessments.set_message(tx.session, progress.assessment_id, *where)
    channel, ts = before
    return (channel, ts) if channel and ts else None


def _home_if(tx: Tx, origin: Origin, settings: OutreachSettings) -> HomeData | None:
    return home.home_in(tx, settings) if origin.in_home else None


@on_lost_race
def question_posted(ctx: AppContext, who: Who, assessment_id: int, where: Where) -> Where | None:
    """A question of the assessment was posted as ``where``: it becomes the live message. Returns the
    message that was live before (to be emptied), if any."""
    with ctx.sessions.begin() as session:
        stored = owned(session, who, assessment_id)
        before = (stored.channel_id, stored.message_ts)
        if before == where:
            return None
        assessments.set_message(session, assessment_id, *where)
        channel, ts = before
        return (channel, ts) if channel and ts else None


@on_lost_race
def snooze(ctx: AppContext, who: Who, now: datetime, origin: Origin) -> DmView:
    """Remind me later: no invitation or reminder for the next few days."""
    until = now + SNOOZE
    with ctx.sessions.begin() as session:
        respondent = people.get_or_create_respondent(session, who.workspace, who.user, now)
        people.set_preferences(session, respondent, snooze_until=until)
    return DmView(clicked=SnoozedScreen(until) if origin.clicked else None)


@on_lost_race
def open_home(
    ctx: AppContext, who: Who, now: datetime, event_id: str | None, settings: OutreachSettings
) -> HomeData | None:
    """App Home opened: what it shows; None for a redelivery of an event already handled (Slack retries
    when it thinks we were slow)."""
    with ctx.sessions.begin() as session:
        if event_id and not events.claim_event(session, event_id, now):
            return None
        return home.home_in(Tx.of(session, ctx, who, now), settings)
