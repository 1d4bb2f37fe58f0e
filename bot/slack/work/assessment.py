"""Buttons of the assessment DM and App Home, done by the worker: each calls its use case and sends
what the use case's view says (answers, N/A, Back, Resume, Start over, Start, Remind me later)."""

from __future__ import annotations

from bot.app import chat
from bot.app.chat import Origin
from bot.app.types import Click, DmView
from bot.slack import ids
from bot.slack.ids import Work
from bot.slack.payloads import message_of, who_from
from bot.slack.task import Task
from bot.slack.work import dm
from bot.slack.work.delivery import DM_KEY, STEPS_KEY, Delivery, deliver, from_json


def origin_of(task: Task) -> Origin:
    """The clicked message, or App Home (a click in a view); neither for a slash command."""
    channel, ts = message_of(task.body)
    container = task.body.get("container") or {}
    return Origin(clicked=(channel, ts) if channel and ts else None, in_home=container.get("type") == "view")


def show(task: Task, kind: Work, view: DmView) -> None:
    """Send everything ``view`` changes, within Slack's budgets."""
    origin = origin_of(task)
    steps = dm.steps_for(view, who_from(task.body), origin.clicked, task.deps)
    deliver(Delivery(task.client, task.body, task.deps, kind), steps)


def _click(task: Task, with_level: bool) -> Click:
    ref = ids.decode(task.action.get("value"))
    _, ts = message_of(task.body)
    level = None if ref.is_na or not with_level else ref.level
    return Click(ref.assessment_id, ref.question_id, level, message_ts=ts, question_hash=ref.question_hash)


def answer(task: Task) -> None:
    """Store the clicked answer (once) and move the message on to the next question."""
    deps = task.deps
    view = chat.answer(deps.ctx, who_from(task.body), _click(task, with_level=True), deps.clock(), deps.outreach)
    show(task, Work.ANSWER, view)


def back(task: Task) -> None:
    """Return to the previous question so its answer can be changed."""
    deps = task.deps
    view = chat.back(deps.ctx, who_from(task.body), _click(task, with_level=False), deps.clock(), deps.outreach)
    show(task, Work.BACK, view)


def resume(task: Task) -> None:
    """Continue the unfinished assessment at its current question (saying so if the bank changed)."""
    deps = task.deps
    show(task, Work.RESUME, chat.resume(deps.ctx, who_from(task.body), deps.clock(), origin_of(task), deps.outreach))


def start_over(task: Task) -> None:
    """Abandon the unfinished assessment and begin again at the first question."""
    deps = task.deps
    view = chat.start_over(deps.ctx, who_from(task.body), deps.clock(), origin_of(task), deps.outreach)
    show(task, Work.START_OVER, view)


def start(task: Task) -> None:
    """Start button (App Home, re-assessment prompts): same as `/compass start`."""
    deps = task.deps
    show(task, Work.START, chat.start(deps.ctx, who_from(task.body), deps.clock(), origin_of(task), deps.outreach))


def snooze(task: Task) -> None:
    """Remind me later: no invitation or reminder for the next few days."""
    deps = task.deps
    show(task, Work.SNOOZE, chat.snooze(deps.ctx, who_from(task.body), deps.clock(), origin_of(task)))


def finish_delivery(task: Task) -> None:
    """The rest of a job whose Slack calls had to wait for Retry-After."""
    steps = [from_json(step) for step in task.body.get(STEPS_KEY) or []]
    delivery = Delivery(task.client, task.body, task.deps, Work.DELIVER, dm_channel=task.body.get(DM_KEY))
    deliver(delivery, steps)
