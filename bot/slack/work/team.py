"""The queued part of `/compass target`, `/compass team` and `/compass teams`, and the pages of the latter."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.app import digests, targets
from bot.app.types import Who
from bot.charts.data import heatmap_for_overview, heatmap_pages
from bot.domain.targets import ListTargets, RemoveTarget, TargetProblem, parse_target_command
from bot.slack.blocks.common import Message, build_text_message
from bot.slack.blocks.targets import (
    build_target_removed_announcement,
    build_target_set_announcement,
    build_targets_message,
)
from bot.slack.blocks.team import TEAMS_PAGE, build_team_message, build_teams_message
from bot.slack.directory import fetch_members
from bot.slack.payloads import who_from
from bot.slack.routes import Request
from bot.slack.task import Task
from bot.slack.uploads import scope_missing
from bot.slack.work import charts, dm
from bot.slack.work.delivery import CHARTS

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = ("not_in_channel", "channel_not_found")


class NotInChannel(Exception):
    pass


def team_members(task: Task, who: Who, channel: str) -> list[str] | None:
    """The team of a channel: None when it has a digest (the members the scheduler keeps), else the
    channel's members as Slack lists them now, without the bot. NotInChannel when Slack refuses."""
    deps = task.deps
    if digests.channel_subscription(deps.ctx, who.workspace, channel, deps.clock()) is not None:
        return None
    try:
        members = fetch_members(task.client, channel)
        bot_user = task.client.auth_test().get("user_id")
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_IN_CHANNEL:
            raise NotInChannel(channel) from exc
        raise
    return [m for m in members if m != bot_user]


def invite_me(channel: str) -> Message:
    return build_text_message(
        f"I'm not a member of <#{channel}>, so I can't tell who the team is. "
        "Invite me with `/invite @compass` there, then run the command again."
    )


def channel_only(command: str) -> Message:
    return build_text_message(f"Teams are channels: run `/compass {command}` in your team's channel.")


def target_command(request: Request) -> Message | None:
    """`/compass target [<dimension> <level> [by YYYY-Qn] | <dimension> off]`; a change is announced in
    the channel once (the command's trigger_id names the change)."""
    task, who, here, args = request.task, request.who, request.here, request.args
    change = str(task.body.get("trigger_id") or "")
    deps = task.deps
    now = deps.clock()
    if not here or here.startswith("D"):
        return channel_only("target")
    try:
        command = parse_target_command(args, targets.dimension_choices(deps.ctx, who.workspace), now)
    except TargetProblem as problem:
        return build_text_message(problem.detail)
    try:
        members = team_members(task, who, here)
    except NotInChannel:
        return invite_me(here)
    if isinstance(command, ListTargets):
        return build_targets_message(
            here, targets.list_targets(deps.ctx, who.workspace, here, now, settings=deps.outreach, members=members)
        )
    if isinstance(command, RemoveTarget):
        if not targets.remove_target(deps.ctx, who.workspace, here, command.dimension.id, now):
            return build_text_message(f"<#{here}> has no target for {command.dimension.name}.")
        announcement = build_target_removed_announcement(who.user, command.dimension.name)
    else:
        saved = targets.set_target(deps.ctx, who, here, command, now, settings=deps.outreach, members=members)
        t = saved.target
        announcement = build_target_set_announcement(who.user, saved.dimension, t.level, t.by.label if t.by else None)
    return _announce(task, who, here, announcement, change)


def _announce(task: Task, who: Who, channel: str, message: Message, change: str) -> Message | None:
    """Post the change to the channel, once per change however often the work runs."""
    deps = task.deps
    send_id = targets.claim_announcement(deps.ctx, who.workspace, channel, change, deps.clock())
    if send_id is None:
        return None
    try:
        response = task.client.chat_postMessage(channel=channel, **message.as_kwargs())
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        targets.record_not_announced(deps.ctx, send_id, deps.clock(), error)
        return build_text_message(f"Saved. I could not post it in <#{channel}> (Slack said `{error}`).")
    targets.record_announced(deps.ctx, send_id, deps.clock(), (response.get("channel"), response.get("ts")))
    return None


def team_command(request: Request) -> Message | None:
    """`/compass team`: the channel's digest right now, to the person who asked only (chat.postEphemeral;
    through the response_url when Slack refuses that); over the respondent threshold, then the team's
    radar chart into the asker's DM, since an upload cannot be ephemeral."""
    task, who, here = request.task, request.who, request.here
    deps = task.deps
    if not here or here.startswith("D"):
        return channel_only("team")
    try:
        members = team_members(task, who, here)
    except NotInChannel:
        return invite_me(here)
    now = digests.team_now(deps.ctx, who.workspace, here, deps.clock(), settings=deps.outreach, members=members)
    chart = now.digest.visible and not scope_missing()  # under the threshold: no figures, no chart
    message = build_team_message(now, here, chart_in_dm=chart)
    try:
        task.client.chat_postEphemeral(channel=here, user=who.user, **message.as_kwargs())
    except SlackApiError:
        if task.respond is None:
            return message
        task.respond(response_type="ephemeral", **message.as_kwargs())
    if chart:
        to = _dm(task, who)
        if to is not None:
            radar = charts.team_radar(now.digest, here, to)
            if radar is not None:
                CHARTS.put(task.client, radar)
    return None


def _dm(task: Task, who: Who) -> str | None:
    """The asker's DM with the bot, or None (logged) when Slack will not open one."""
    try:
        return dm.open_dm(task.client, who.user)
    except SlackApiError as exc:
        log.warning("no DM with %s for a chart (%s): it stays out", who.user, exc.response.get("error"))
        return None


def teams_command(request: Request) -> Message:
    """`/compass teams`: every digest channel side by side, the first page."""
    return _teams_page(request.task, request.who, 0)


def _teams_page(task: Task, who: Who, page: int) -> Message:
    deps = task.deps
    return build_teams_message(digests.teams_overview(deps.ctx, who.workspace, deps.clock(), deps.outreach), page)


def teams_page(task: Task) -> None:
    """Next / Previous on `/compass teams`: the page replaces the message it was clicked on."""
    who = who_from(task.body)
    value = str(task.action.get("value") or "0")
    page = int(value) if value.isdigit() else 0
    if task.respond is not None:
        task.respond(replace_original=True, **_teams_page(task, who, page).as_kwargs())


HEATMAP_SENT = "The heat-map image is in your DM with me."
HEATMAP_FAILED = "I could not upload the heat-map image: Slack refused it (uploads need the files:write scope)."


def teams_heatmap(task: Task) -> None:
    """ "Heat-map image" on `/compass teams` or App Home: that page of the grid drawn (here, on request,
    never for every `/compass teams`) and uploaded into the asker's DM; a team under the threshold as
    "not enough answers". The outcome in one ephemeral line where the click came from a message."""
    who = who_from(task.body)
    value = str(task.action.get("value") or "0")
    page = int(value) if value.isdigit() else 0
    deps = task.deps
    overview = digests.teams_overview(deps.ctx, who.workspace, deps.clock(), deps.outreach)
    if not overview.rows:
        _tell(task, who, "No channel gets a team digest yet, so there is no heat map to draw.")
        return
    page = min(page, (len(overview.rows) - 1) // TEAMS_PAGE)
    shown = overview.rows[page * TEAMS_PAGE : (page + 1) * TEAMS_PAGE]
    data = heatmap_pages(
        heatmap_for_overview(overview, _channel_names(task, [r.channel_id for r in shown])), TEAMS_PAGE
    )
    to = _dm(task, who)
    if to is None or charts.send_heatmap(task.client, data[page], to) is None:
        _tell(
            task, who, "I could not upload the heat-map image (Slack refused it; uploads need the files:write scope)."
        )
    elif task.respond is not None:
        task.respond(
            response_type="ephemeral", replace_original=False, text="The heat-map image is in your DM with me."
        )


def _channel_names(task: Task, channels: list[str]) -> dict[str, str]:
    """``#name`` of each channel (conversations.info, one call each: a page has at most 25); the id
    stays where Slack will not say."""
    names = {}
    for channel in channels:
        try:
            name = (task.client.conversations_info(channel=channel).get("channel") or {}).get("name")
        except SlackApiError:
            continue
        if name:
            names[channel] = f"#{name}"
    return names


def _tell(task: Task, who: Who, text: str) -> None:
    """One line to the person who clicked: ephemeral under the message, or in the DM from App Home."""
    if task.respond is not None:
        task.respond(response_type="ephemeral", replace_original=False, text=text)
        return
    to = _dm(task, who)
    if to is not None:
        dm.post(task.client, to, build_text_message(text))
