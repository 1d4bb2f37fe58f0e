"""All listeners, registered feature by feature, and the queued work each feature hands the worker."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.ids import Work
from bot.slack.listeners import assessment, commands, home
from bot.slack.work import Handler


def register_listeners(app: App) -> None:
    commands.register(app)
    assessment.register(app)
    home.register(app)


def work_handlers() -> dict[Work, Handler]:
    handlers = {**commands.WORK, **assessment.WORK, **home.WORK}
    assert set(handlers) == set(Work), "every kind of queued work needs a handler"
    return handlers
