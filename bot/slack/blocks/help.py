"""`/compass help`, and the answer to a subcommand it does not know."""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blocks.common import Message, clip, section


def build_help_message(lines: Sequence[tuple[str, str]]) -> Message:
    """Every subcommand with what it does: ``lines`` are (usage after `/compass `, one line of help)."""
    listed = "\n".join(f"• `/compass {usage}`: {text}" for usage, text in lines)
    text = f"*MLOps Compass* measures your team's MLOps maturity in about 10 minutes.\n{listed}"
    names = ", ".join(usage.split()[0] for usage, _ in lines)
    return Message(f"MLOps Compass: /compass {names}", (section(text),))


def build_unknown_command_message(subcommand: str, lines: Sequence[tuple[str, str]]) -> Message:
    shown = clip(subcommand, 40)
    help_message = build_help_message(lines)
    note = section(f"I don't know `/compass {shown}`. Here is what I can do:")
    return Message(f"Unknown command /compass {shown}. Try /compass help.", (note, *help_message.blocks))
