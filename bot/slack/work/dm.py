"""Putting an assessment in front of a person: their DM with the bot, and App Home."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import assessment, digests, results
from bot.app.types import Progress, Who
from bot.slack import ids
from bot.slack.blocks.assessment import build_closed_message, build_question_message, build_resume_offer
from bot.slack.blocks.common import Message
from bot.slack.blocks.home import HOME_HISTORY, build_home_view
from bot.slack.blocks.rights import DataPolicy
from bot.slack.deps import Deps

log = logging.getLogger(__name__)

MOVED = "This assessment continues in a newer message below."
# How many of the DM's latest messages are searched for a question message whose ts was never
# recorded. Such a message was posted moments before the crash or the lost reply, so it is among
# the last few; the DM holds only the bot's messages (its Messages tab is read-only).
HISTORY_LOOKBACK = 10
_history_refused = threading.Event()  # set once Slack refused conversations.history (missing im:history)


def open_dm(client: WebClient, user_id: str) -> str:
    """The id of the bot's DM channel with a user (conversations.open is idempotent)."""
    response = client.conversations_open(users=user_id)
    return str(response["channel"]["id"])


def post(client: WebClient, channel: str, message: Message) -> str:
    response = client.chat_postMessage(channel=channel, **message.as_kwargs())
    return str(response["ts"])


def update(client: WebClient, where: tuple[str, str], message: Message) -> None:
    channel, ts = where
    client.chat_update(channel=channel, ts=ts, **message.as_kwargs())


def _move_live_message(client: WebClient, deps: Deps, progress: Progress, where: tuple[str, str]) -> None:
    """Make ``where`` (channel, ts) the one message whose buttons count, and empty the previous one."""
    if (progress.channel_id, progress.message_ts) == where:
        return
    assessment.attach_message(deps.ctx, progress.assessment_id, *where)
    if progress.channel_id and progress.message_ts:
        try:
            update(client, (progress.channel_id, progress.message_ts), build_closed_message(MOVED))
        except SlackApiError:
            # Its buttons are refused anyway (the use case checks the live message).
            log.warning(
                "could not collapse old message %s of assessment %s", progress.message_ts, progress.assessment_id
            )


def _unrecorded_questions(client: WebClient, channel: str, progress: Progress) -> list[str]:
    """ts of this assessment's question messages after its recorded one (among the DM's last few when
    none is recorded), newest first: posts whose ts never reached the database, because the worker
    died between chat.postMessage and attach_message or the reply was lost on the way.

    Empty when Slack refuses to show the history (no im:history scope); that is logged once.
    """
    oldest = progress.message_ts if progress.channel_id == channel else None
    try:
        response = client.conversations_history(
            channel=channel, limit=HISTORY_LOOKBACK, oldest=oldest, include_all_metadata=True
        )
    except SlackApiError as exc:
        if exc.response.get("error") != "missing_scope":
            raise
        level = logging.DEBUG if _history_refused.is_set() else logging.WARNING
        _history_refused.set()
        log.log(
            level,
            "cannot read the DM history (%s; add the im:history bot scope and reinstall the app): a question "
            "posted but never recorded may stay in a DM beside the new one, its buttons out of date",
            exc.response.get("error"),
        )
        return []
    messages = response.get("messages") or []
    return [str(m["ts"]) for m in messages if ids.assessment_of(m.get("metadata")) == progress.assessment_id]


def post_question(
    client: WebClient, deps: Deps, channel: str, progress: Progress, note: str | None = None, fresh: bool = False
) -> None:
    """Show the current question in a new message at the end of the DM and make it the live message.

    The DM may already hold one that was posted and never recorded. Unless the assessment is
    ``fresh`` (begun just now, so none of its messages can exist), that message is looked for
    and taken over instead of posting a second one, and any further copies are emptied.
    """
    found = [] if fresh else _unrecorded_questions(client, channel, progress)
    if not found:
        ts = post(client, channel, build_question_message(progress, note))
        _move_live_message(client, deps, progress, (channel, ts))
        return
    newest, *older = found
    for ts in older:
        update(client, (channel, ts), build_closed_message(MOVED))
    show_question(client, deps, (channel, newest), progress, note)


def show_question(client: WebClient, deps: Deps, where: tuple[str, str], progress: Progress, note: str | None) -> None:
    """Turn an existing message into the current question and make it the live message."""
    update(client, where, build_question_message(progress, note))
    _move_live_message(client, deps, progress, where)


def start_in_dm(client: WebClient, deps: Deps, who: Who) -> None:
    """Begin an assessment in the person's DM, or offer to resume the unfinished one.

    An unfinished assessment with no recorded message (a repeated start after the first one's
    post failed or was never recorded) has no message to resume from: its current question is
    shown, in the message already in the DM if there is one (post_question).
    """
    started = assessment.start_assessment(deps.ctx, who, deps.clock())
    channel = open_dm(client, who.user)
    progress = started.progress
    if not started.resumable:
        post_question(client, deps, channel, progress, fresh=True)
    elif progress.message_ts is None:
        post_question(client, deps, channel, progress)
    else:
        # The resume offer has no answer buttons; its Resume turns it into the question and
        # empties the old message, so only one message at a time takes answers.
        post(client, channel, build_resume_offer(progress))


def publish_home(client: WebClient, deps: Deps, who: Who) -> None:
    report = results.latest_report(deps.ctx.sessions, who)
    history = results.history(deps.ctx.sessions, who, limit=HOME_HISTORY)
    progress = assessment.current_progress(deps.ctx, who, deps.clock())
    teams = digests.teams_overview(deps.ctx, who.workspace, deps.clock(), deps.outreach)
    policy = DataPolicy(deps.outreach.min_respondents, deps.retention_days)
    client.views_publish(user_id=who.user, view=build_home_view(report, history, progress, teams, policy))
