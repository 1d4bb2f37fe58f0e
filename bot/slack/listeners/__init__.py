"""The Bolt side: every listener only acknowledges and queues; the work is in bot/slack/work/."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, home


def register_listeners(app: App) -> None:
    commands.register(app)
    actions.register(app)
    home.register(app)
