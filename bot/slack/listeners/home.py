"""App Home: opening the tab queues publishing it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.deps import deps_of
from bot.slack.ids import Work
from bot.slack.listeners.enqueue import queue


def handle_app_home_opened(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
    """Queue publishing the person's home tab (Bolt has already acked the event)."""
    if event.get("tab") == "home":  # the Messages tab fires the same event
        queue(deps_of(context), Work.HOME, body)


def register(app: App) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
