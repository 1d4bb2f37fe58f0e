"""Buttons of the assessment DM: answers, N/A, Back, Resume, Start over, Start."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import services
from bot.domain.flow import Outcome, Status
from bot.services import AnswerResult, Who
from bot.slack import dm, ids
from bot.slack.blocks import build_closed_message, build_report_message
from bot.slack.deps import Deps, deps_of
from bot.slack.ids import Action

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


def handle_answer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any) -> None:
    """Store the clicked answer (once) and move the message on to the next question."""
    ack()
    deps = deps_of(context)
    who = dm.who_from(body)
    ref = ids.decode(action.get("value"))
    level = None if ref.is_na else ref.level
    _, ts = _where(body)
    result = services.record_answer(
        deps.sessions, deps.bank, who, ref.assessment_id, ref.question_id, level, deps.clock(), message_ts=ts
    )
    _render(client, deps, who, body, result, _ack_note(result, deps, ref.question_id, level))


def handle_back(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any) -> None:
    """Return to the previous question so its answer can be changed."""
    ack()
    deps = deps_of(context)
    who = dm.who_from(body)
    ref = ids.decode(action.get("value"))
    _, ts = _where(body)
    result = services.go_back(deps.sessions, deps.bank, who, ref.assessment_id, ref.question_id, deps.clock(), ts)
    _render(client, deps, who, body, result, _ack_note(result, deps, ref.question_id, None))


def _show_current(client: WebClient, deps: Deps, who: Who, body: dict[str, Any], progress: services.Progress) -> None:
    channel, ts = _where(body)
    if channel and ts:
        dm.show_question(client, deps, channel, ts, progress, None)
    else:  # clicked in App Home: continue in the DM
        dm.post_question(client, deps, dm.open_dm(client, who.user), progress)
        dm.publish_home(client, deps, who)


def handle_resume(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Continue the unfinished assessment at its current question."""
    ack()
    deps = deps_of(context)
    who = dm.who_from(body)
    progress = services.current_progress(deps.sessions, deps.bank, who, deps.clock())
    if progress is None:
        channel, ts = _where(body)
        text = "There is no unfinished assessment any more. Run `/compass start` to begin a new one."
        if channel and ts:
            dm.update(client, channel, ts, build_closed_message(text))
        return
    _show_current(client, deps, who, body, progress)


def handle_start_over(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Abandon the unfinished assessment and begin again at the first question."""
    ack()
    deps = deps_of(context)
    who = dm.who_from(body)
    progress = services.restart_assessment(deps.sessions, deps.bank, who, deps.clock())
    _show_current(client, deps, who, body, progress)


def handle_start(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Start button (App Home, re-assessment prompts): same as `/compass start`."""
    ack()
    deps = deps_of(context)
    who = dm.who_from(body)
    dm.start_in_dm(client, deps, who)
    channel, ts = _where(body)
    if channel is None:
        dm.publish_home(client, deps, who)
    elif ts is not None:  # an invitation: it has done its job, drop its buttons
        dm.update(client, channel, ts, build_closed_message(":compass: Your assessment starts in the next message."))


def handle_snooze(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Remind me later: no invitation or reminder for the next few days."""
    ack()
    deps = deps_of(context)
    who = dm.who_from(body)
    until = deps.clock() + SNOOZE
    services.set_reminders(deps.sessions, who, deps.clock(), snooze_until=until)
    channel, ts = _where(body)
    if channel and ts:
        text = f"OK, I'll ask again after {until:%A, %b %-d}. `/compass start` works any time."
        dm.update(client, channel, ts, build_closed_message(text))


def register(app: App) -> None:
    app.action(ids.ANSWER_PATTERN)(handle_answer)
    app.action(Action.NOT_APPLICABLE.value)(handle_answer)
    app.action(Action.BACK.value)(handle_back)
    app.action(Action.RESUME.value)(handle_resume)
    app.action(Action.START_OVER.value)(handle_start_over)
    app.action(Action.START.value)(handle_start)
    app.action(Action.SNOOZE.value)(handle_snooze)
