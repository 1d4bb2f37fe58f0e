"""Buttons: each click is acked and queued as the kind of work its route names
(``bot.slack.work.BUTTONS``)."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.enqueue import ack_and_queue
from bot.slack.routes import Routes


def register(app: App, routes: Routes) -> None:
    for button in routes.buttons:
        app.action(button.matcher)(ack_and_queue(button.kind))
