"""Buttons of the assessment DM, done by the worker: answers, N/A, Back, Resume, Start over, Start, snooze."""

from __future__ import annotations

from datetime import timedelta

from bot.app import assessment, evidence, preferences
from bot.app.types import AnswerResult, Click, Progress, Who
from bot.domain.flow import Outcome, Status
from bot.slack import ids
from bot.slack.blocks.assessment import build_closed_message
from bot.slack.blocks.report import build_report_message
from bot.slack.deps import Deps
from bot.slack.ids import Work
from bot.slack.payloads import message_of, who_from
from bot.slack.work import charts, dm
from bot.slack.work.task import Handler, Task

SNOOZE = timedelta(days=3)

FINISHED = "This assessment is closed. `/compass report` shows your latest report; `/compass start` begins a new one."


def _ack_note(result: AnswerResult, deps: Deps, click: Click) -> str:
    if result.outcome is Outcome.MOVED_BACK:
        return "◀ Back to the previous question: pick an answer to change it."
    if result.outcome not in (Outcome.ACCEPTED, Outcome.COMPLETED):
        return ""  # nothing was recorded (and the clicked question may no longer be in the bank)
    question = deps.ctx.bank.question(click.question_id)
    answer = "Not applicable" if click.level is None else f"{click.level} · {question.option(click.level).label}"
    return f"✓ *{question.title}*: {answer}"


def _render(task: Task, who: Who, result: AnswerResult, note: str) -> None:
    client, deps = task.client, task.deps
    channel, ts = message_of(task.body)
    progress = result.progress
    if channel is None or ts is None:
        return
    where = (channel, ts)
    if result.outcome in (Outcome.ACCEPTED, Outcome.MOVED_BACK):
        dm.show_question(client, deps, where, progress, note)
    elif progress.notice and progress.status is Status.ASKING:
        # The question bank was edited since this message was posted: the assessment was carried
        # over (or begun afresh), and the message the person clicked shows where it goes on.
        dm.show_question(client, deps, where, progress, None)
    elif result.outcome is Outcome.COMPLETED:
        dm.update(client, where, build_closed_message(f"✅ All {progress.total} questions answered. {note}"))
        assert progress.report is not None
        measured = evidence.by_dimension(deps.ctx.sessions, who, deps.ctx.bank, deps.clock())
        dm.post(client, channel, build_report_message(progress.report, measured))
        charts.send_report_chart(client, deps, who, channel)  # after the report, which never waits for it
        dm.publish_home(client, deps, who)
    elif progress.status is Status.ASKING and progress.message_ts in (None, ts):
        # A repeated click on the live message: show the current question again, which
        # also repairs the message if the previous update never reached Slack.
        dm.show_question(client, deps, where, progress, None)
    elif progress.status is Status.ASKING:
        dm.update(client, where, build_closed_message(dm.MOVED))
    elif progress.message_ts != ts:
        dm.update(client, where, build_closed_message(FINISHED))
    # else: a late click on the message that already shows the completion note.


def _click(task: Task, with_level: bool) -> Click:
    ref = ids.decode(task.action.get("value"))
    _, ts = message_of(task.body)
    level = None if ref.is_na or not with_level else ref.level
    return Click(ref.assessment_id, ref.question_id, level, message_ts=ts, question_hash=ref.question_hash)


def answer(task: Task) -> None:
    """Store the clicked answer (once) and move the message on to the next question."""
    who, click = who_from(task.body), _click(task, with_level=True)
    result = assessment.record_answer(task.deps.ctx, who, click, task.deps.clock())
    _render(task, who, result, _ack_note(result, task.deps, click))


def back(task: Task) -> None:
    """Return to the previous question so its answer can be changed."""
    who, click = who_from(task.body), _click(task, with_level=False)
    result = assessment.go_back(task.deps.ctx, who, click, task.deps.clock())
    _render(task, who, result, _ack_note(result, task.deps, click))


def _show_current(task: Task, who: Who, progress: Progress, fresh: bool = False) -> None:
    channel, ts = message_of(task.body)
    if channel and ts:
        dm.show_question(task.client, task.deps, (channel, ts), progress, None)
    else:  # clicked in App Home: continue in the DM
        dm.post_question(task.client, task.deps, dm.open_dm(task.client, who.user), progress, fresh=fresh)
        dm.publish_home(task.client, task.deps, who)


def resume(task: Task) -> None:
    """Continue the unfinished assessment at its current question (saying so if the bank changed)."""
    who = who_from(task.body)
    progress = assessment.resume_assessment(task.deps.ctx, who, task.deps.clock())
    if progress is None:
        channel, ts = message_of(task.body)
        text = "There is no unfinished assessment any more. Run `/compass start` to begin a new one."
        if channel and ts:
            dm.update(task.client, (channel, ts), build_closed_message(text))
        return
    _show_current(task, who, progress)


def start_over(task: Task) -> None:
    """Abandon the unfinished assessment and begin again at the first question."""
    who = who_from(task.body)
    progress = assessment.restart_assessment(task.deps.ctx, who, task.deps.clock())
    _show_current(task, who, progress, fresh=True)


def start(task: Task) -> None:
    """Start button (App Home, re-assessment prompts): same as `/compass start`."""
    client, deps = task.client, task.deps
    who = who_from(task.body)
    dm.start_in_dm(client, deps, who)
    channel, ts = message_of(task.body)
    if channel is None:
        dm.publish_home(client, deps, who)
    elif ts is not None:  # an invitation: it has done its job, drop its buttons
        text = ":compass: Your assessment starts in the next message."
        dm.update(client, (channel, ts), build_closed_message(text))


def snooze(task: Task) -> None:
    """Remind me later: no invitation or reminder for the next few days."""
    deps = task.deps
    who = who_from(task.body)
    until = deps.clock() + SNOOZE
    preferences.set_reminders(deps.ctx, who, deps.clock(), snooze_until=until)
    channel, ts = message_of(task.body)
    if channel and ts:
        text = f"OK, I'll ask again after {until:%A, %b %-d}. `/compass start` works any time."
        dm.update(task.client, (channel, ts), build_closed_message(text))


WORK: dict[Work, Handler] = {
    Work.ANSWER: answer,
    Work.BACK: back,
    Work.RESUME: resume,
    Work.START_OVER: start_over,
    Work.START: start,
    Work.SNOOZE: snooze,
}
