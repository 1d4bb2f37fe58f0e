"""The /compass slash command: help, the forget-me confirmation and unknown words are answered in
the ack; the rest is acknowledged (with its ack text, if any) and queued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.slack import ids
from bot.slack.blocks.help import build_unknown_command_message
from bot.slack.deps import deps_of
from bot.slack.ids import Work
from bot.slack.listeners.enqueue import queue
from bot.slack.payloads import subcommand
from bot.slack.routes import Routes


def compass_command(routes: Routes) -> Callable[..., None]:
    def handle_compass_command(ack: Ack, command: dict[str, Any], context: Any) -> None:
        """`/compass <subcommand>`."""
        name, _ = subcommand(command)
        spec = routes.subcommand("help" if name == "?" else name)
        if spec is None:
            lines = [(s.usage, s.help) for s in routes.subcommands if s.help]
            ack(**build_unknown_command_message(name, lines).as_kwargs())
            return
        if spec.queued:  # before the ack, as in enqueue.ack_and_queue: a person's requests stay in order
            queue(deps_of(context), Work.COMMAND, command)
        if callable(spec.ack):
            ack(**spec.ack().as_kwargs())
        elif spec.ack:
            ack(text=spec.ack)
        else:
            ack()

    return handle_compass_command


def register(app: App, routes: Routes) -> None:
    app.command(ids.COMMAND)(compass_command(routes))
