"""The shapes of the two tables that say what the app answers: every `/compass` subcommand and every
button. The tables themselves live beside their work (``bot.slack.work.commands.SUBCOMMANDS``,
``bot.slack.work.BUTTONS``): one entry adds a subcommand (its help line, what the ack says, what the
worker does) or a button (what its click queues, and what the worker does with it). The wiring hands
them to the listeners, which must not import the worker's modules (they would bring the plotting
library into the web process).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.app.types import Who
from bot.slack.blocks.common import Message
from bot.slack.ids import Work
from bot.slack.task import Handler, Task


@dataclass(frozen=True)
class Request:
    """A queued subcommand as its runner gets it: the job, who typed it, where, and the words after it."""

    task: Task
    who: Who
    here: str  # the channel it was typed in
    args: list[str]


CommandRun = Callable[[Request], Message | None]  # the reply only the person sees (None: no reply)


@dataclass(frozen=True)
class Subcommand:
    """`/compass NAME ...`: its help line, what the ack says at once, and the worker's part.

    ``ack``: a text, or a function building the whole ack (help, the forget-me confirmation); None
    acks silently. ``run``: the queued work; None when the ack is all of it.
    """

    name: str
    usage: str  # after `/compass `, as help shows it
    help: str  # one line; "" keeps it out of help
    run: CommandRun | None = None
    ack: str | Callable[[], Message] | None = None

    @property
    def queued(self) -> bool:
        return self.run is not None


@dataclass(frozen=True)
class Button:
    """A button: the action ids it matches (one, or a pattern for a family), the kind of work its click
    queues, and the handler that does that work."""

    matcher: str | re.Pattern[str]
    kind: Work
    handler: Handler

    def matches(self, action_id: str) -> bool:
        if isinstance(self.matcher, re.Pattern):
            return self.matcher.match(action_id) is not None
        return self.matcher == action_id


@dataclass(frozen=True)
class Routes:
    subcommands: tuple[Subcommand, ...]
    buttons: tuple[Button, ...]

    def subcommand(self, name: str) -> Subcommand | None:
        return next((s for s in self.subcommands if s.name == name), None)

    def work_for(self, action_id: str) -> Work:
        """The kind of work a click on ``action_id`` queues (KeyError for a button the app never sends)."""
        for button in self.buttons:
            if button.matches(action_id):
                return button.kind
        raise KeyError(action_id)
