"""Buttons: answers, N/A, Back, Resume, Start over, Start, Remind me later, the pages of `/compass teams`
and its heat-map image, Delete my data; each is acked and queued."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.slack import ids
from bot.slack.ids import Action, Work
from bot.slack.listeners.enqueue import ack_and_queue

# Which kind of work each button queues: an action_id, or the pattern of the answer buttons.
BUTTON_WORK: tuple[tuple[str | re.Pattern[str], Work], ...] = (
    (ids.ANSWER_PATTERN, Work.ANSWER),
    (Action.NOT_APPLICABLE.value, Work.ANSWER),
    (Action.BACK.value, Work.BACK),
    (Action.RESUME.value, Work.RESUME),
    (Action.START_OVER.value, Work.START_OVER),
    (Action.START.value, Work.START),
    (Action.SNOOZE.value, Work.SNOOZE),
    (Action.TEAMS_NEXT.value, Work.TEAMS_PAGE),
    (Action.TEAMS_PREVIOUS.value, Work.TEAMS_PAGE),
    (Action.TEAMS_HEATMAP.value, Work.TEAMS_HEATMAP),
    (Action.FORGET_ME.value, Work.FORGET),
)


def work_for(action_id: str) -> Work:
    """The kind of work a click on ``action_id`` queues (KeyError for a button the app never sends)."""
    for matcher, kind in BUTTON_WORK:
        if matcher == action_id or (isinstance(matcher, re.Pattern) and matcher.match(action_id)):
            return kind
    raise KeyError(action_id)


def register(app: App) -> None:
    for matcher, kind in BUTTON_WORK:
        app.action(matcher)(ack_and_queue(kind))
