"""The queued part of `/compass` subcommands; every reply to the channel is ephemeral."""

from __future__ import annotations

import re

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import chat, digests, evidence, preferences, results, signals
from bot.app.chat import Origin
from bot.app.types import Completion, Who
from bot.domain.signals import SourceKind
from bot.slack.blocks.common import Message, build_text_message
from bot.slack.blocks.digest import build_digest_settings_message
from bot.slack.blocks.report import build_history_message, build_report_message
from bot.slack.blocks.signals import build_signals_message, build_source_added_message
from bot.slack.deps import Deps
from bot.slack.ids import Work
from bot.slack.listeners.commands import subcommand
from bot.slack.payloads import who_from
from bot.slack.work import dm, rights, team
from bot.slack.work.assessment import show
from bot.slack.work.delivery import Delivery, Step, deliver
from bot.slack.work.task import Handler, Task

CHANNEL_MENTION = re.compile(r"^<#(?P<id>[CG][A-Z0-9]+)(\|[^>]*)?>$")
CADENCES = ("weekly", "monthly", "quarterly")
PERIOD_NAMES = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}
HISTORY_LIMIT = 10


def run_command(task: Task) -> None:
    command, deps, client = task.body, task.deps, task.client
    sub, args = subcommand(command)
    who = who_from(command)
    reply: Message | None = None
    chart: list[Step] = []
    if sub == "start":
        show(task, Work.COMMAND, chat.start(deps.ctx, who, deps.clock(), Origin(), deps.outreach))
    elif sub == "report":
        view = results.report_view(deps.ctx, who, deps.clock())
        if view.report is None:
            reply = build_text_message("You have no completed assessment yet. Run `/compass start` to take one.")
        else:
            reply = build_report_message(view.report, view.measured)
            # The radar goes to the DM: an upload cannot be ephemeral.
            completion = Completion(view.report, view.previous, view.measured)
            chart = [dm.radar_step(completion, view.dm_channel)]
    elif sub == "history":
        reply = build_history_message(results.history(deps.ctx.sessions, who, limit=HISTORY_LIMIT))
    elif sub == "digest":
        reply = digest_command(task, who, command.get("channel_id", ""), args)
    elif sub == "signals":
        reply = signals_command(task, who, command.get("channel_id", ""), args)
    elif sub == "target":
        here = command.get("channel_id", "")
        reply = team.target_command(task, who, here, args, str(command.get("trigger_id") or ""))
    elif sub == "team":
        reply = team.team_command(task, who, command.get("channel_id", ""))
    elif sub == "teams":
        reply = team.teams_command(task, who)
    elif sub == "export-me":
        reply = rights.export_me(task, who)
    elif sub == "pause":
        preferences.set_reminders(deps.ctx, who, deps.clock(), paused=True)
    elif sub == "resume-reminders":
        preferences.set_reminders(deps.ctx, who, deps.clock(), paused=False)
    if reply is not None and task.respond is not None:
        task.respond(response_type="ephemeral", **reply.as_kwargs())
    if chart:
        deliver(Delivery(client, task.body, deps, Work.COMMAND), chart)


def digest_command(task: Task, who: Who, here: str, args: list[str]) -> Message:
    """`/compass digest [here|#channel|off] [weekly|monthly|quarterly]`."""
    deps: Deps = task.deps
    now = deps.clock()
    if not args:
        return build_digest_settings_message(digests.digest_settings(deps.ctx, who.workspace, now))
    target, rest = args[0].lower(), [a.lower() for a in args[1:]]
    if target == "off":
        channel = _channel(args[1]) if len(args) > 1 else here
        if channel is None:
            return build_text_message("Name the channel as a mention, e.g. `/compass digest off #ml-team`.")
        removed = digests.unsubscribe_digest(deps.ctx, who.workspace, channel, now)
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
    problem = _membership_problem(task.client, channel)
    if problem:
        return build_text_message(problem)
    digests.subscribe_digest(deps.ctx, who, channel, cadence, now)
    return build_text_message(
        f":white_check_mark: <#{channel}> will get the team MLOps maturity digest {cadence}, starting with the "
        f"next full {PERIOD_NAMES[cadence]}. Team results show "
        "once at least the minimum number of members have assessed; individual answers never appear."
    )


def signals_command(task: Task, who: Who, here: str, args: list[str]) -> Message:
    """`/compass signals [add github|gitlab|mlflow|events]`: always to the person only, since an added
    source's secret is shown once, here."""
    deps: Deps = task.deps
    if here.startswith("D") or not here:
        return build_text_message("Delivery signals belong to a team channel: run `/compass signals` there.")
    if not args:
        sources = signals.list_sources(deps.ctx.sessions, channel_id=here)
        measured = evidence.channel_measurements(deps.ctx.sessions, here, deps.clock()) if sources else {}
        return build_signals_message(here, sources, deps.public_url, tuple(measured.values()))
    kinds = ", ".join(k.value for k in SourceKind)
    if args[0].lower() != "add" or len(args) != 2 or args[1].lower() not in {k.value for k in SourceKind}:
        return build_text_message(
            f"Use `/compass signals` to list this channel's sources, or `/compass signals add KIND` ({kinds})."
        )
    new = signals.add_source(
        deps.ctx.sessions, SourceKind(args[1].lower()), here, deps.clock(), created_by=who.user, team=who.workspace
    )
    return build_source_added_message(new, deps.public_url)


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
