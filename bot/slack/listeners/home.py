"""App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot import services
from bot.slack import dm
from bot.slack.deps import deps_of
from bot.slack.ids import Work
from bot.slack.work import Handler, Task, queue


def handle_app_home_opened(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
    """Queue publishing the person's home tab (Bolt has already acked the event)."""
    if event.get("tab") == "home":  # the Messages tab fires the same event
        queue(deps_of(context), Work.HOME, body)


def publish_home(task: Task) -> None:
    """The home tab: latest result, history, Start or Resume; once per event, whatever Slack redelivers."""
    body, deps = task.body, task.deps
    event_id = body.get("event_id")
    if event_id and not services.claim_event(deps.sessions, str(event_id), deps.clock()):
        return  # a retry of a delivery already handled (Slack retries when it thinks we were slow)
    dm.publish_home(task.client, deps, dm.who_from(body))


WORK: dict[Work, Handler] = {Work.HOME: publish_home}


def register(app: App) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
