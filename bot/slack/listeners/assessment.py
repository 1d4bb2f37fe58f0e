"""Buttons of the assessment DM: answers, N/A, Back, Resume, Start over, Start.

Each button is acknowledged and queued by ``register``'s listeners; the functions in
``WORK`` do the rest in the worker.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import services
from bot.domain.flow import Outcome, Status
from bot.services import AnswerResult, Who
from bot.slack import dm, ids
from bot.slack.blocks import build_closed_message, build_report_message
from bot.slack.deps import Deps
from bot.slack.ids import Action, Work
from bot.slack.work import Handler, Task, ack_and_queue

log = logging.getLogger(__name__)

SNOOZE = timedelta(days=3)

FINISHED = "This assessment is closed. `/compass report` shows your latest report; `/compass start` begins a new one."


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Channel and ts of the message a button sits on; (None, None) for App Home."""
    container = body.get("container") or {}
    if container.get("type") == "message":
        return container.get("channel_id"), container.get("message_ts")
    return None, None


def _ack_note(result: AnswerResult, deps: Deps, question_id: str, level: int | None) -> str:
    question = deps.bank.question(question_id)
    answer = "Not applicable" if level is None else f"{level} · {question.option(level).label}"
    if result.outcome is Outcome.MOVED_BACK:
        return "◀ Back to the previous question: pick an answer to change it."
    return f"✓ *{question.title}*: {answer}"


def _render(client: WebClient, deps: Deps, who: Who, body: dict[str, Any], result: AnswerResult, note: str) -> None:
    channel, ts = _where(body)
    progress = result.progress
    if channel is None or ts is None:
        return
    if result.outcome in (Outcome.ACCEPTED, Outcome.MOVED_BACK):
        dm.show_question(client, deps, channel, ts, progress, note)
    elif result.outcome is Outcome.COMPLETED:
        dm.update(client, channel, ts, build_closed_message(f"✅ All {progress.total} questions answered. {note}"))
        assert progress.report is not None
        dm.post(client, channel, build_report_message(progress.report))
        dm.publish_home(client, deps, who)
    elif progress.status is Status.ASKING and progress.message_ts in (None, ts):
        # A repeated click on the live message: show the current question again, which
        # also repairs the message if the previous update never reached Slack.
        dm.show_question(client, deps, channel, ts, progress, None)
    elif progress.status is Status.ASKING:
        dm.update(client, channel, ts, build_closed_message(dm.MOVED))
    elif progress.message_ts != ts:
        dm.update(client, channel, ts, build_closed_message(FINISHED))
    # else: a late click on the message that already shows the completion note.


def answer(task: Task) -> None:
    """Store the clicked answer (once) and move the message on to the next question."""
    deps, body = task.deps, task.body
    who = dm.who_from(body)
    ref = ids.decode(task.action.get("value"))
    level = None if ref.is_na else ref.level
    _, ts = _where(body)
    result = services.record_answer(
        deps.sessions, deps.bank, who, ref.assessment_id, ref.question_id, level, deps.clock(), message_ts=ts
    )
    _render(task.client, deps, who, body, result, _ack_note(result, deps, ref.question_id, level))


def back(task: Task) -> None:
    """Return to the previous question so its answer can be changed."""
    deps, body = task.deps, task.body
    who = dm.who_from(body)
    ref = ids.decode(task.action.get("value"))
    _, ts = _where(body)
    result = services.go_back(deps.sessions, deps.bank, who, ref.assessment_id, ref.question_id, deps.clock(), ts)
    _render(task.client, deps, who, body, result, _ack_note(result, deps, ref.question_id, None))


def _show_current(client: WebClient, deps: Deps, who: Who, body: dict[str, Any], progress: services.Progress) -> None:
    channel, ts = _where(body)
    if channel and ts:
        dm.show_question(client, deps, channel, ts, progress, None)
    else:  # clicked in App Home: continue in the DM
        dm.post_question(client, deps, dm.open_dm(client, who.user), progress)
        dm.publish_home(client, deps, who)


def resume(task: Task) -> None:
    """Continue the unfinished assessment at its current question."""
    deps, body = task.deps, task.body
    who = dm.who_from(body)
    progress = services.current_progress(deps.sessions, deps.bank, who, deps.clock())
    if progress is None:
        channel, ts = _where(body)
        text = "There is no unfinished assessment any more. Run `/compass start` to begin a new one."
        if channel and ts:
            dm.update(task.client, channel, ts, build_closed_message(text))
        return
    _show_current(task.client, deps, who, body, progress)


def start_over(task: Task) -> None:
    """Abandon the unfinished assessment and begin again at the first question."""
    deps = task.deps
    who = dm.who_from(task.body)
    progress = services.restart_assessment(deps.sessions, deps.bank, who, deps.clock())
    _show_current(task.client, deps, who, task.body, progress)


def start(task: Task) -> None:
    """Start button (App Home, re-assessment prompts): same as `/compass start`."""
    client, deps = task.client, task.deps
    who = dm.who_from(task.body)
    dm.start_in_dm(client, deps, who)
    channel, ts = _where(task.body)
    if channel is None:
        dm.publish_home(client, deps, who)
    elif ts is not None:  # an invitation: it has done its job, drop its buttons
        dm.update(client, channel, ts, build_closed_message(":compass: Your assessment starts in the next message."))


def snooze(task: Task) -> None:
    """Remind me later: no invitation or reminder for the next few days."""
    deps = task.deps
    who = dm.who_from(task.body)
    until = deps.clock() + SNOOZE
    services.set_reminders(deps.sessions, who, deps.clock(), snooze_until=until)
    channel, ts = _where(task.body)
    if channel and ts:
        text = f"OK, I'll ask again after {until:%A, %b %-d}. `/compass start` works any time."
        dm.update(task.client, channel, ts, build_closed_message(text))


WORK: dict[Work, Handler] = {
    Work.ANSWER: answer,
    Work.BACK: back,
    Work.RESUME: resume,
    Work.START_OVER: start_over,
    Work.START: start,
    Work.SNOOZE: snooze,
}


def register(app: App) -> None:
    app.action(ids.ANSWER_PATTERN)(ack_and_queue(Work.ANSWER))
    app.action(Action.NOT_APPLICABLE.value)(ack_and_queue(Work.ANSWER))
    app.action(Action.BACK.value)(ack_and_queue(Work.BACK))
    app.action(Action.RESUME.value)(ack_and_queue(Work.RESUME))
    app.action(Action.START_OVER.value)(ack_and_queue(Work.START_OVER))
    app.action(Action.START.value)(ack_and_queue(Work.START))
    app.action(Action.SNOOZE.value)(ack_and_queue(Work.SNOOZE))
