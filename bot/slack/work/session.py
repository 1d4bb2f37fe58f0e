"""The worker's part of a team session: `/compass session`, votes, the facilitator's steps, the refresh
of the live message's count, actions. Each handler calls one use case (bot/app/team_sessions.py) and
renders its view; Slack calls go through ``deliver`` (the click's response_url first, chat.update only
as its fallback) or post new messages."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.app import team_sessions
from bot.app.targets import dimension_choices
from bot.app.team_sessions import (
    AlreadyLive,
    ChooseDimension,
    Ended,
    LiveQuestion,
    NextQuestion,
    Opened,
    VoteRefused,
)
from bot.domain.team_session import EndSession, SessionProblem, StartSession, check_action, parse_session_command
from bot.slack import ids
from bot.slack.blocks.common import Message, build_text_message
from bot.slack.blocks.session import (
    build_action_form,
    build_actions_message,
    build_already_live,
    build_choose_dimension,
    build_closed_question,
    build_live_question,
    build_opening_message,
    build_refusal,
    build_session_closed,
    build_summary_message,
    build_vote_receipt,
)
from bot.slack.directory import fetch_members
from bot.slack.ids import Action, Work
from bot.slack.payloads import action_form_values, message_of, who_from
from bot.slack.routes import Request
from bot.slack.task import Task
from bot.slack.tokens import tenant_of
from bot.slack.work.delivery import Delivery, Replace, Reply, Step, Update, deliver
from bot.slack.work.team import NOT_IN_CHANNEL, NotInChannel, channel_only, invite_me, team_members

log = logging.getLogger(__name__)


# -- /compass session, /compass actions --------------------------------------------------------


def session_command(request: Request) -> Message | None:
    """`/compass session [dimension | weakest | all | end]` in a team channel."""
    task, who, here = request.task, request.who, request.here
    if not here or here.startswith("D"):
        return channel_only("session")
    try:
        command = parse_session_command(request.args, dimension_choices(task.deps.ctx, who.workspace))
    except SessionProblem as problem:
        return build_text_message(problem.detail)
    if isinstance(command, EndSession):
        ended = team_sessions.end(task.deps.ctx, who, here, task.deps.clock())
        if ended is None:
            return build_text_message(f"No session is running in <#{here}>. Start one with `/compass session`.")
        _close(task, ended, clicked=False)
        return None
    return _start(task, here, command)


def _start(task: Task, channel: str, command: StartSession) -> Message | None:
    who = who_from(task.body)
    try:
        members = _member_count(task, channel)
    except NotInChannel:
        return invite_me(channel)
    started = team_sessions.start(task.deps.ctx, who, channel, command, task.deps.clock(), members=members)
    if isinstance(started, AlreadyLive):
        return build_already_live(started)
    if isinstance(started, ChooseDimension):
        return build_choose_dimension(started)
    _open(task, started)
    return None


def _member_count(task: Task, channel: str) -> int | None:
    """How many people the channel has (without the bot); NotInChannel when the bot may not post there."""
    try:
        info = task.client.conversations_info(channel=channel)
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_IN_CHANNEL:
            raise NotInChannel(channel) from exc
        raise
    if not (info.get("channel") or {}).get("is_member"):
        raise NotInChannel(channel)
    members = fetch_members(task.client, channel)
    bot_user = task.client.auth_test().get("user_id")
    return len([m for m in members if m != bot_user]) or None


def _open(task: Task, opened: Opened) -> None:
    client, first = task.client, opened.first
    opening_ts = None
    if opened.post_opening:
        opening = client.chat_postMessage(channel=first.channel, **build_opening_message(opened).as_kwargs())
        opening_ts = str(opening.get("ts"))
        team_sessions.posted(task.deps.ctx, first.session_id, opening_ts=opening_ts, question_ts=None)
    question = client.chat_postMessage(channel=first.channel, **build_live_question(first).as_kwargs())
    team_sessions.posted(task.deps.ctx, first.session_id, opening_ts=None, question_ts=str(question.get("ts")))


def pick_dimension(task: Task) -> None:
    """The facilitator chose the dimension (the team had no results yet)."""
    channel = str((task.body.get("channel") or {}).get("id") or message_of(task.body)[0] or "")
    chosen = next(
        (
            d
            for d in dimension_choices(task.deps.ctx, who_from(task.body).workspace)
            if d.id == task.action.get("value")
        ),
        None,
    )
    if chosen is None:
        raise ids.StaleButton("unknown dimension")
    reply = _start(task, channel, StartSession(chosen))
    _tell(task, reply or build_refusal("Session started: vote on its first question in the channel."), replace=True)


def start_from_digest(task: Task) -> None:
    """ "Start a session" on a digest: as `/compass session` in the digest's channel, the clicker
    facilitating; whatever is to be said instead (a live session, the invitation hint, the choice of a
    dimension) goes to the clicker only, and the digest stays as it is."""
    channel = str((task.body.get("channel") or {}).get("id") or message_of(task.body)[0] or "")
    if not channel:
        raise ids.StaleButton("no channel")
    reply = _start(task, channel, StartSession())
    if reply is not None:
        _tell(task, reply)


def actions_command(request: Request) -> Message:
    """`/compass actions`: the channel's open actions, each with a Done button."""
    task, who, here = request.task, request.who, request.here
    if not here or here.startswith("D"):
        return channel_only("actions")
    return build_actions_message(
        here, team_sessions.open_actions(task.deps.ctx, who.workspace, here, task.deps.clock())
    )


def action_done(task: Task) -> None:
    who = who_from(task.body)
    try:
        action_id = int(str(task.action.get("value")))
    except ValueError:
        raise ids.StaleButton("not an action id") from None
    done, still = team_sessions.mark_done(task.deps.ctx, who, action_id, task.deps.clock())
    channel = str((task.body.get("channel") or {}).get("id") or "")
    note = f"Marked done: {done.text}"
    _tell(task, build_actions_message(channel, still, note=note), replace=True)


# -- votes and the live message --------------------------------------------------------------


def vote(task: Task) -> None:
    ref = ids.decode_session(task.action.get("value"))
    level = ids.level_of_action(str(task.action.get("action_id")))
    taken = team_sessions.vote(
        task.deps.ctx,
        who_from(task.body),
        (ref.session_id, ref.question_id),
        level,
        task.deps.clock(),
        response_url=task.body.get("response_url"),
        refresh_with=_tenant_ids(task.body),
    )
    if isinstance(taken, VoteRefused):
        _tell(task, build_refusal(taken.reason))
        return
    _tell(task, build_vote_receipt(taken))


def _tenant_ids(body: dict[str, Any]) -> dict[str, Any]:
    """What a job queued by a use case needs to find its workspace's token (Enterprise Grid included)."""
    tenant = tenant_of(body)
    return {
        "team_id": tenant.team_id,
        "enterprise_id": tenant.enterprise_id,
        "is_enterprise_install": tenant.is_enterprise_install,
    }


def refresh(task: Task) -> None:
    """Show the live message's vote count as it is now (queued by a vote, at most every few seconds)."""
    session_id = int(task.body["session_id"])
    position = task.body.get("position")
    found = team_sessions.refresh(
        task.deps.ctx, session_id, int(position) if position is not None else None, task.deps.clock()
    )
    if found is None:
        return
    live, url, url_at = found
    if live.ts is None:
        return
    # The response_url of the vote that queued this refresh replaces the channel message for everyone,
    # outside the Tier 3 budget; chat.update is the fallback once it is spent or older than Slack keeps it.
    body: dict[str, Any] = {k: task.body.get(k) for k in ("team_id", "enterprise_id", "is_enterprise_install")}
    if url and url_at is not None:
        body["response_url"] = url
        body["actions"] = [{"action_ts": f"{url_at.timestamp():.6f}"}]
    delivery = Delivery(task.client, body, task.deps, Work.SESSION_REFRESH)
    deliver(delivery, [Replace(live.channel, live.ts, build_live_question(live).as_kwargs())])


def facilitate(task: Task) -> None:
    """Reveal, agree (or change the agreed level) and next: the facilitator's buttons."""
    action_id = str(task.action.get("action_id"))
    ref = ids.decode_session(task.action.get("value"))
    where = (ref.session_id, ref.question_id)
    who = who_from(task.body)
    deps = task.deps
    channel, ts = message_of(task.body)
    now = deps.clock()
    if action_id == Action.SESSION_NEXT:
        moved = team_sessions.next_question(deps.ctx, who, where, now)
        if isinstance(moved, Ended):
            _close(task, moved, clicked=True)
        else:
            _next(task, moved)
        return
    members = _team(task, channel)
    if action_id == Action.SESSION_REVEAL:
        live = team_sessions.reveal_votes(deps.ctx, who, where, now, settings=deps.outreach, members=members)
    else:
        level = ids.level_of_action(action_id)
        live = team_sessions.agree(deps.ctx, who, where, level, now, settings=deps.outreach, members=members)
    _show(task, live, (channel, ts))


def _team(task: Task, channel: str | None) -> list[str] | None:
    if not channel:
        return None
    try:
        return team_members(task, who_from(task.body), channel)
    except NotInChannel:
        return []


def _show(task: Task, live: LiveQuestion, where: tuple[str | None, str | None]) -> None:
    channel, ts = where
    message = build_live_question(live).as_kwargs()
    steps: list[Step] = []
    if channel and ts:
        steps.append(Replace(channel, ts, message))
    elif live.ts:
        steps.append(Update(live.channel, live.ts, message))
    deliver(Delivery(task.client, task.body, task.deps, Work.SESSION_STEP), steps)


def _next(task: Task, moved: NextQuestion) -> None:
    live = moved.live
    channel, ts = message_of(task.body)
    closed = build_closed_question(moved.finished)
    if channel and ts:
        deliver(
            Delivery(task.client, task.body, task.deps, Work.SESSION_STEP), [Replace(channel, ts, closed.as_kwargs())]
        )
    posted = task.client.chat_postMessage(channel=live.channel, **build_live_question(live).as_kwargs())
    team_sessions.posted(task.deps.ctx, live.session_id, opening_ts=None, question_ts=str(posted.get("ts")))


def _close(task: Task, ended: Ended, *, clicked: bool) -> None:
    """The session ended: its last question message closed, the summary posted in the channel."""
    channel, ts = message_of(task.body) if clicked else (None, None)
    closed = build_session_closed(f"Team session: {ended.scope}").as_kwargs()
    steps: list[Step] = []
    if channel and ts:
        steps.append(Replace(channel, ts, closed))
    elif ended.live_ts:
        steps.append(Update(ended.channel, ended.live_ts, closed))
    deliver(Delivery(task.client, task.body, task.deps, Work.SESSION_STEP), steps)
    posted = task.client.chat_postMessage(channel=ended.channel, **build_summary_message(ended).as_kwargs())
    team_sessions.summary_posted(task.deps.ctx, ended.session_id, str(posted.get("ts")))


# -- actions added in a session --------------------------------------------------------------


def action_form(task: Task) -> None:
    ref = ids.decode_session(task.action.get("value"))
    title = team_sessions.question_title(task.deps.ctx, who_from(task.body).workspace, ref.question_id)
    task.client.views_open(
        trigger_id=str(task.body.get("trigger_id")), view=build_action_form(ref.session_id, ref.question_id, title)
    )


def action_save(task: Task) -> None:
    """The action form was submitted (and checked in the ack): keep the action, show it on the question."""
    view = task.body.get("view") or {}
    ref = ids.decode_session(view.get("private_metadata"))
    now: datetime = task.deps.clock()
    text, owner, due = action_form_values(view)
    action, problems = check_action(text, owner, due, now.date())
    if "what" in problems:  # checked in the ack already; the date may have turned since: it is kept
        log.warning("an action form with problems reached the worker: %s", problems)
        return
    members = _team(task, team_sessions.channel_of(task.deps.ctx, ref.session_id))
    live = team_sessions.add_action(
        task.deps.ctx,
        who_from(task.body),
        (ref.session_id, ref.question_id),
        action,
        now,
        source=str(view.get("id") or "")[:64] or None,
        settings=task.deps.outreach,
        members=members,
    )
    if live is not None and live.ts is not None:
        deliver(
            Delivery(task.client, task.body, task.deps, Work.SESSION_ACTION_SAVE),
            [Update(live.channel, live.ts, build_live_question(live).as_kwargs())],
        )


def _tell(task: Task, message: Message, *, replace: bool = False) -> None:
    """A reply only the clicker sees (through the click's response_url)."""
    if replace and task.body.get("response_url"):
        WebhookClient(str(task.body["response_url"]), timeout=10).send_dict(
            {**message.as_kwargs(), "replace_original": True}
        )
        return
    deliver(Delivery(task.client, task.body, task.deps, Work.SESSION_VOTE), [Reply(message.as_kwargs())])
