"""`/compass help`, and the answer to a subcommand it does not know."""

from __future__ import annotations

from bot.slack.blocks.common import Message, clip, section
from bot.slack.blocks.rights import data_help_line


def build_help_message() -> Message:
    text = (
        "*MLOps Compass* measures your team's MLOps maturity in about 10 minutes.\n"
        "• `/compass start`: take the assessment in a DM (or resume an unfinished one)\n"
        "• `/compass report`: your latest report\n"
        "• `/compass history`: your past results and how they changed\n"
        "• `/compass digest here weekly|monthly|quarterly`: a team digest in this channel "
        "(`/compass digest` shows the set-up, `/compass digest off` stops it)\n"
        "• `/compass target <dimension> <1-4> [by YYYY-Qn]`: set this channel's target for a dimension "
        "(`/compass target` lists them, `/compass target <dimension> off` removes one)\n"
        "• `/compass team`: this channel's team digest right now, shown only to you\n"
        "• `/compass teams`: every team with a digest side by side\n"
        "• `/compass signals`: the delivery signals (GitHub, GitLab, MLflow, any CI) measured for this channel "
        "(`/compass signals add github|gitlab|mlflow|events` connects one)\n"
        "• `/compass pause` / `/compass resume-reminders`: stop or restart invitations and reminders\n"
        f"{data_help_line()}"
        "• `/compass help`: this message"
    )
    return Message(
        "MLOps Compass: /compass start, report, history, digest, target, team, teams, signals, pause, "
        "export-me, forget-me, help",
        (section(text),),
    )


def build_unknown_command_message(subcommand: str) -> Message:
    shown = clip(subcommand, 40)
    help_message = build_help_message()
    note = section(f"I don't know `/compass {shown}`. Here is what I can do:")
    return Message(f"Unknown command /compass {shown}. Try /compass help.", (note, *help_message.blocks))
