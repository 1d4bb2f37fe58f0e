"""Putting an assessment in front of a person: their DM with the bot, and App Home."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import assessment, results
from bot.app.types import Progress, Who
from bot.slack.blocks.assessment import build_closed_message, build_question_message, build_resume_offer
from bot.slack.blocks.common import Message
from bot.slack.blocks.home import HOME_HISTORY, build_home_view
from bot.slack.deps import Deps

log = logging.getLogger(__name__)

MOVED = "This assessment continues in a newer message below."


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


def post_question(client: WebClient, deps: Deps, channel: str, progress: Progress, note: str | None = None) -> None:
    """Post the current question as a new message and make it the assessment's live message."""
    ts = post(client, channel, build_question_message(progress, note))
    _move_live_message(client, deps, progress, (channel, ts))


def show_question(client: WebClient, deps: Deps, where: tuple[str, str], progress: Progress, note: str | None) -> None:
    """Turn an existing message into the current question and make it the live message."""
    update(client, where, build_question_message(progress, note))
    _move_live_message(client, deps, progress, where)


def start_in_dm(client: WebClient, deps: Deps, who: Who) -> None:
    """Begin an assessment in the person's DM, or offer to resume the unfinished one."""
    started = assessment.start_assessment(deps.ctx, who, deps.clock())
    channel = open_dm(client, who.user)
    if started.resumable:
        post(client, channel, build_resume_offer(started.progress))
    else:
        post_question(client, deps, channel, started.progress)


def publish_home(client: WebClient, deps: Deps, who: Who) -> None:
    report = results.latest_report(deps.ctx.sessions, who)
    history = results.history(deps.ctx.sessions, who, limit=HOME_HISTORY)
    progress = assessment.current_progress(deps.ctx, who, deps.clock())
    client.views_publish(user_id=who.user, view=build_home_view(report, history, progress))
