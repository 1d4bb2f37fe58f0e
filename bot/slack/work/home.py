"""App Home, published by the worker."""

from __future__ import annotations

from bot.app import events
from bot.slack.ids import Work
from bot.slack.payloads import who_from
from bot.slack.work import dm
from bot.slack.work.task import Handler, Task


def publish_home(task: Task) -> None:
    """The home tab: latest result, history, Start or Resume; once per event, whatever Slack redelivers."""
    body, deps = task.body, task.deps
    event_id = body.get("event_id")
    if event_id and not events.claim_event(deps.ctx, str(event_id), deps.clock()):
        return  # a retry of a delivery already handled (Slack retries when it thinks we were slow)
    dm.publish_home(task.client, deps, who_from(body))


WORK: dict[Work, Handler] = {Work.HOME: publish_home}
