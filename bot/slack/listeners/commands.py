"""The /compass slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import services
from bot.services import Who
from bot.slack import dm, ids
from bot.slack.blocks import (
    build_help_message,
    build_history_message,
    build_report_message,
    build_text_message,
    build_unknown_command_message,
)
from bot.slack.deps import deps_of


def handle_compass_command(
    ack: Ack, command: dict[str, Any], client: WebClient, context: Any, respond: Respond
) -> None:
    """Route `/compass <subcommand>`; every reply to the channel is ephemeral."""
    words = (command.get("text") or "").split()
    sub = words[0].lower() if words else "help"
    deps = deps_of(context)
    who = Who(workspace=command.get("team_id", ""), user=command.get("user_id", ""))
    if sub in ("help", "?"):
        ack(**build_help_message().as_kwargs())
    elif sub == "start":
        # Ack before any database or Web API work: Slack gives up after 3 seconds.
        ack(text=":compass: Check your DMs: your MLOps Compass assessment is waiting there.")
        dm.start_in_dm(client, deps, who)
    elif sub == "report":
        ack()
        report = services.latest_report(deps.sessions, who)
        message = (
            build_report_message(report)
            if report
            else build_text_message("You have no completed assessment yet. Run `/compass start` to take one.")
        )
        respond(response_type="ephemeral", **message.as_kwargs())
    elif sub == "history":
        ack()
        entries = services.history(deps.sessions, who, limit=10)
        respond(response_type="ephemeral", **build_history_message(entries).as_kwargs())
    else:
        ack(**build_unknown_command_message(sub).as_kwargs())


def register(app: App) -> None:
    app.command(ids.COMMAND)(handle_compass_command)
