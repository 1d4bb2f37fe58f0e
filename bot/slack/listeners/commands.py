"""The /compass slash command."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import services
from bot.services import Who
from bot.slack import dm, ids
from bot.slack.blocks import (
    Message,
    build_digest_settings_message,
    build_help_message,
    build_history_message,
    build_report_message,
    build_text_message,
    build_unknown_command_message,
)
from bot.slack.deps import Deps, deps_of
from bot.slack.ids import Work
from bot.slack.work import Handler, Task, queue

# What each queued subcommand says at once, before the worker has done anything.
ACK_TEXT = {
    "start": ":compass: Check your DMs: your MLOps Compass assessment is waiting there.",
    "report": None,
    "history": None,
    "digest": None,
    "pause": "Paused: I won't send you assessment invitations or reminders. `/compass resume-reminders` undoes it.",
    "resume-reminders": "Invitations and reminders are back on. `/compass pause` stops them again.",
    "resume": "Invitations and reminders are back on. `/compass pause` stops them again.",
}


def _subcommand(command: dict[str, Any]) -> tuple[str, list[str]]:
    words = (command.get("text") or "").split()
    return (words[0].lower() if words else "help"), words[1:]


def handle_compass_command(ack: Ack, command: dict[str, Any], context: Any) -> None:
    """`/compass <subcommand>`: help and unknown words are answered in the ack; the rest is queued."""
    sub, _ = _subcommand(command)
    if sub in ("help", "?"):
        ack(**build_help_message().as_kwargs())
    elif sub in ACK_TEXT:
        ack(**({"text": ACK_TEXT[sub]} if ACK_TEXT[sub] else {}))
        queue(deps_of(context), Work.COMMAND, command)
    else:
        ack(**build_unknown_command_message(sub).as_kwargs())


def run_command(task: Task) -> None:
    """The queued part of a subcommand; every reply to the channel is ephemeral."""
    command, deps, client, respond = task.body, task.deps, task.client, task.respond
    sub, args = _subcommand(command)
    who = dm.who_from(command)
    reply: Message | None = None
    if sub == "start":
        dm.start_in_dm(client, deps, who)
    elif sub == "report":
        report = services.latest_report(deps.sessions, who)
        reply = (
            build_report_message(report)
            if report
            else build_text_message("You have no completed assessment yet. Run `/compass start` to take one.")
        )
    elif sub == "history":
        reply = build_history_message(services.history(deps.sessions, who, limit=10))
    elif sub == "digest":
        reply = digest_command(client, deps, who, command.get("channel_id", ""), args)
    elif sub == "pause":
        services.set_reminders(deps.sessions, who, deps.clock(), paused=True)
    elif sub in ("resume-reminders", "resume"):
        services.set_reminders(deps.sessions, who, deps.clock(), paused=False)
    if reply is not None and respond is not None:
        respond(response_type="ephemeral", **reply.as_kwargs())


CHANNEL_MENTION = re.compile(r"^<#(?P<id>[CG][A-Z0-9]+)(\|[^>]*)?>$")
CADENCES = ("weekly", "monthly", "quarterly")
PERIOD_NAMES = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}


def digest_command(client: WebClient, deps: Deps, who: Who, here: str, args: list[str]) -> Message:
    """`/compass digest [here|#channel|off] [weekly|monthly|quarterly]`."""
    now = deps.clock()
    if not args:
        rows = services.digest_settings(deps.sessions, who.workspace, now)
        return build_digest_settings_message([(r.channel_id, r.cadence, r.paused_reason) for r in rows])
    target, rest = args[0].lower(), [a.lower() for a in args[1:]]
    if target == "off":
        channel = _channel(args[1]) if len(args) > 1 else here
        if channel is None:
            return build_text_message("Name the channel as a mention, e.g. `/compass digest off #ml-team`.")
        removed = services.unsubscribe_digest(deps.sessions, who.workspace, channel, now)
        return build_text_message(
            f"The digest for <#{channel}> is off." if removed else f"<#{channel}> had no digest set up."
        )
    channel = here if target == "here" else _channel(args[0])
    if channel is None:
        return build_text_message(
            f"I don't understand `{args[0][:40]}`. Use `/compass digest here weekly` in the team channel, "
            "or `/compass digest #channel monthly`."
        )
    cadence = rest[0] if rest else "monthly"
    if cadence not in CADENCES:
        return build_text_message(f"Choose how often: {', '.join(CADENCES)} (got `{cadence[:20]}`).")
    if channel.startswith("D"):
        return build_text_message("Digests go to a team channel: run `/compass digest here` in that channel.")
    problem = _membership_problem(client, channel)
    if problem:
        return build_text_message(problem)
    services.subscribe_digest(deps.sessions, who.workspace, channel, cadence, who.user, now)
    return build_text_message(
        f":white_check_mark: <#{channel}> will get the team MLOps maturity digest {cadence}, starting with the "
        f"next full {PERIOD_NAMES[cadence]}. Team results show "
        "once at least the minimum number of members have assessed; individual answers never appear."
    )


def _channel(text: str) -> str | None:
    match = CHANNEL_MENTION.match(text.strip())
    return match.group("id") if match else None


def _membership_problem(client: WebClient, channel: str) -> str | None:
    try:
        info = client.conversations_info(channel=channel)
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":
            return (
                f"I can't see <#{channel}>. If it is a private channel, invite me first with `/invite @compass` "
                "there, then run the command again."
            )
        raise
    if not (info.get("channel") or {}).get("is_member"):
        return (
            f"I'm not a member of <#{channel}> yet. Invite me with `/invite @compass` in that channel, "
            "then run `/compass digest here` again."
        )
    return None


WORK: dict[Work, Handler] = {Work.COMMAND: run_command}


def register(app: App) -> None:
    app.command(ids.COMMAND)(handle_compass_command)
