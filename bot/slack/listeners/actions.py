"""Buttons: answers, N/A, Back, Resume, Start over, Start, Remind me later; each is acked and queued."""

from __future__ import annotations

from slack_bolt import App

from bot.slack import ids
from bot.slack.ids import Action, Work
from bot.slack.listeners.enqueue import ack_and_queue


def register(app: App) -> None:
    app.action(ids.ANSWER_PATTERN)(ack_and_queue(Work.ANSWER))
    app.action(Action.NOT_APPLICABLE.value)(ack_and_queue(Work.ANSWER))
    app.action(Action.BACK.value)(ack_and_queue(Work.BACK))
    app.action(Action.RESUME.value)(ack_and_queue(Work.RESUME))
    app.action(Action.START_OVER.value)(ack_and_queue(Work.START_OVER))
    app.action(Action.START.value)(ack_and_queue(Work.START))
    app.action(Action.SNOOZE.value)(ack_and_queue(Work.SNOOZE))
