"""The Bolt side: every listener only acknowledges and queues; the work is in bot/slack/work/."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, files, home, views
from bot.slack.routes import Routes


def register_listeners(app: App, routes: Routes) -> None:
    commands.register(app, routes)
    actions.register(app, routes)
    home.register(app)
    views.register(app)
    files.register(app)
