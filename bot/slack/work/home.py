"""App Home, published by the worker."""

from __future__ import annotations

from bot.app import chat
from bot.slack.ids import Work
from bot.slack.payloads import who_from
from bot.slack.task import Task
from bot.slack.work import dm
from bot.slack.work.delivery import Delivery, deliver


def publish_home(task: Task) -> None:
    """The home tab: latest result, history, Start or Resume; once per event, whatever Slack redelivers."""
    body, deps = task.body, task.deps
    who = who_from(body)
    event_id = body.get("event_id")
    home = chat.open_home(deps.ctx, who, deps.clock(), str(event_id) if event_id else None, deps.outreach)
    if home is not None:
        deliver(Delivery(task.client, body, deps, Work.HOME), [dm.home_step(home, who, deps)])
