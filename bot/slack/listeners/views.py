"""Modal submissions: the action form is checked in the ack (Slack shows each problem under its field
and keeps the form open, so nothing typed is lost), then queued."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.team_session import check_action
from bot.slack import ids
from bot.slack.deps import deps_of
from bot.slack.ids import Work
from bot.slack.listeners.enqueue import queue
from bot.slack.payloads import action_form_values


def handle_action_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    deps = deps_of(context)
    text, owner, due = action_form_values(view)
    _, problems = check_action(text, owner, due, deps.clock().date())
    if problems:
        ack(response_action="errors", errors=problems)
        return
    ack()
    queue(deps, Work.SESSION_ACTION_SAVE, body)


def register(app: App) -> None:
    app.view(ids.ACTION_FORM)(handle_action_form)
