"""The queued part of `/compass` subcommands; every reply to the channel is ephemeral."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import chat, digests, evidence, preferences, results, signals
from bot.app.chat import Origin
from bot.app.types import Completion
from bot.domain.digest_words import DigestWordsProblem, ShowDigests, StopDigest, parse_digest_command
from bot.domain.signals import SourceKind
from bot.slack.blocks.common import Message, build_text_message
from bot.slack.blocks.digest import (
    build_digest_settings_message,
    build_digest_started_message,
    build_digest_stopped_message,
)
from bot.slack.blocks.help import build_help_message
from bot.slack.blocks.report import build_history_message, build_report_message
from bot.slack.blocks.rights import build_forget_confirmation
from bot.slack.blocks.signals import build_signals_message, build_source_added_message
from bot.slack.deps import Deps
from bot.slack.ids import Work
from bot.slack.payloads import subcommand, who_from
from bot.slack.routes import CommandRun, Request, Subcommand
from bot.slack.task import Task
from bot.slack.work import banks, dm, rights, session, team
from bot.slack.work.assessment import show
from bot.slack.work.delivery import Delivery, deliver

HISTORY_LIMIT = 10


def run_command(task: Task) -> None:
    """A queued `/compass` subcommand: its runner, then its reply (only the person sees it)."""
    command = task.body
    sub, args = subcommand(command)
    spec = next((s for s in SUBCOMMANDS if s.name == sub), None)
    if spec is None or spec.run is None:
        return  # answered in the ack (help, forget-me, unknown words)
    reply = spec.run(Request(task, who_from(command), str(command.get("channel_id") or ""), args))
    if reply is not None and task.respond is not None:
        task.respond(response_type="ephemeral", **reply.as_kwargs())


def _start(request: Request) -> None:
    deps = request.task.deps
    show(request.task, Work.COMMAND, chat.start(deps.ctx, request.who, deps.clock(), Origin(), deps.outreach))


def _report(request: Request) -> Message | None:
    task, deps = request.task, request.task.deps
    view = results.report_view(deps.ctx, request.who, deps.clock())
    if view.report is None:
        return build_text_message("You have no completed assessment yet. Run `/compass start` to take one.")
    if task.respond is not None:
        task.respond(
            response_type="ephemeral", **build_report_message(view.report, view.measured, view.contradicted).as_kwargs()
        )
    # The radar goes to the DM, after the report: an upload cannot be ephemeral.
    completion = Completion(view.report, view.previous, view.measured)
    deliver(Delivery(task.client, task.body, deps, Work.COMMAND), [dm.radar_step(completion, view.dm_channel)])
    return None


def _history(request: Request) -> Message:
    sessions = request.task.deps.ctx.sessions
    return build_history_message(results.history(sessions, request.who, limit=HISTORY_LIMIT))


def _reminders(paused: bool) -> CommandRun:
    def run(request: Request) -> None:
        deps = request.task.deps
        preferences.set_reminders(deps.ctx, request.who, deps.clock(), paused=paused)

    return run


def digest_command(request: Request) -> Message:
    """`/compass digest [here|#channel|off] [weekly|monthly|quarterly]`."""
    task, who = request.task, request.who
    deps: Deps = task.deps
    now = deps.clock()
    try:
        command = parse_digest_command(request.args, request.here)
    except DigestWordsProblem as wrong:
        return build_text_message(wrong.detail)
    if isinstance(command, ShowDigests):
        return build_digest_settings_message(digests.digest_settings(deps.ctx, who.workspace, now))
    if isinstance(command, StopDigest):
        removed = digests.unsubscribe_digest(deps.ctx, who.workspace, command.channel, now)
        return build_digest_stopped_message(command.channel, removed=removed)
    refused = _membership_problem(task.client, command.channel)
    if refused:
        return build_text_message(refused)
    digests.subscribe_digest(deps.ctx, who, command.channel, command.cadence, now)
    return build_digest_started_message(command)


def signals_command(request: Request) -> Message:
    """`/compass signals [add github|gitlab|mlflow|events]`: always to the person only, since an added
    source's secret is shown once, here."""
    task, who, here, args = request.task, request.who, request.here, request.args
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


START_ACK = ":compass: Check your DMs: your MLOps Compass assessment is waiting there."
PAUSE_ACK = "Paused: I won't send you assessment invitations or reminders. `/compass resume-reminders` undoes it."
RESUME_ACK = "Invitations and reminders are back on. `/compass pause` stops them again."

# Every subcommand, in the order help lists them: one entry adds one.
SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("start", "start", "take the assessment in a DM (or resume an unfinished one)", _start, START_ACK),
    Subcommand("report", "report", "your latest report", _report),
    Subcommand("history", "history", "your past results and how they changed", _history),
    Subcommand(
        "digest",
        "digest here weekly|monthly|quarterly",
        "a team digest in this channel (`/compass digest` shows the set-up, `/compass digest off` stops it)",
        digest_command,
    ),
    Subcommand(
        "target",
        "target <dimension> <1-4> [by YYYY-Qn]",
        "set this channel's target for a dimension "
        "(`/compass target` lists them, `/compass target <dimension> off` removes one)",
        team.target_command,
    ),
    Subcommand("team", "team", "this channel's team digest right now, shown only to you", team.team_command),
    Subcommand("teams", "teams", "every team with a digest side by side", team.teams_command),
    Subcommand(
        "session",
        "session [dimension | weakest | all]",
        "assess together in this channel: private votes, a reveal, an agreed level and actions "
        "(`/compass session end` ends it)",
        session.session_command,
    ),
    Subcommand("actions", "actions", "this channel's open actions from its sessions", session.actions_command),
    Subcommand(
        "signals",
        "signals",
        "the delivery signals (GitHub, GitLab, MLflow, any CI) measured for this channel "
        "(`/compass signals add github|gitlab|mlflow|events` connects one)",
        signals_command,
    ),
    Subcommand(
        "questions",
        "questions",
        "the question bank this workspace answers (its admins and owners can switch packs)",
        banks.questions_command,
    ),
    Subcommand("pause", "pause", "stop invitations and reminders", _reminders(paused=True), PAUSE_ACK),
    Subcommand(
        "resume-reminders",
        "resume-reminders",
        "restart invitations and reminders",
        _reminders(paused=False),
        RESUME_ACK,
    ),
    Subcommand("export-me", "export-me", "everything kept about you, as a JSON file in your DM", rights.export_me),
    # Nothing is deleted in the ack: the danger button (after Slack's confirm dialog) queues the deletion.
    Subcommand(
        "forget-me", "forget-me", "delete everything kept about you (asks first)", ack=build_forget_confirmation
    ),
    Subcommand("help", "help", "this message", ack=lambda: build_help_message(help_lines())),
)


def help_lines() -> list[tuple[str, str]]:
    return [(s.usage, s.help) for s in SUBCOMMANDS if s.help]
