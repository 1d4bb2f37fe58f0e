"""All listeners, registered feature by feature."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import assessment, commands, home


def register_listeners(app: App) -> None:
    commands.register(app)
    assessment.register(app)
    home.register(app)
