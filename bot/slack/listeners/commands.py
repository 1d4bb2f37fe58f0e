"""The /compass slash command: help, the forget-me confirmation and unknown words are answered
in the ack; the rest is queued."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack import ids
from bot.slack.blocks.help import build_help_message, build_unknown_command_message
from bot.slack.blocks.rights import build_forget_confirmation
from bot.slack.deps import deps_of
from bot.slack.ids import Work
from bot.slack.listeners.enqueue import queue

# What each queued subcommand says at once, before the worker has done anything.
ACK_TEXT = {
    "start": ":compass: Check your DMs: your MLOps Compass assessment is waiting there.",
    "report": None,
    "history": None,
    "digest": None,
    "signals": None,
    "target": None,
    "team": None,
    "teams": None,
    "pause": "Paused: I won't send you assessment invitations or reminders. `/compass resume-reminders` undoes it.",
    "resume-reminders": "Invitations and reminders are back on. `/compass pause` stops them again.",
    "export-me": None,
}


def subcommand(command: dict[str, Any]) -> tuple[str, list[str]]:
    words = (command.get("text") or "").split()
    return (words[0].lower() if words else "help"), words[1:]


def handle_compass_command(ack: Ack, command: dict[str, Any], context: Any) -> None:
    """`/compass <subcommand>`."""
    sub, _ = subcommand(command)
    if sub in ("help", "?"):
        ack(**build_help_message().as_kwargs())
    elif sub == "forget-me":
        # Nothing is deleted here: the danger button (after Slack's confirm dialog) queues the deletion.
        ack(**build_forget_confirmation().as_kwargs())
    elif sub in ACK_TEXT:
        text = ACK_TEXT[sub]
        if text:
            ack(text=text)
        else:
            ack()
        queue(deps_of(context), Work.COMMAND, command)
    else:
        ack(**build_unknown_command_message(sub).as_kwargs())


def register(app: App) -> None:
    app.command(ids.COMMAND)(handle_compass_command)
