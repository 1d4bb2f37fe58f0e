"""Putting an assessment in front of a person: their DM with the bot, and App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import services
from bot.services import Progress, Who
from bot.slack.blocks import Message, build_closed_message, build_home_view, build_question_message, build_resume_offer
from bot.slack.deps import Deps

log = logging.getLogger(__name__)


def open_dm(client: WebClient, user_id: str) -> str:
    """The id of the bot's DM channel with a user (conversations.open is idempotent)."""
    response = client.conversations_open(users=user_id)
    return str(response["channel"]["id"])


def post(client: WebClient, channel: str, message: Message) -> str:
    response = client.chat_postMessage(channel=channel, **message.as_kwargs())
    return str(response["ts"])


def update(client: WebClient, channel: str, ts: str, message: Message) -> None:
    client.chat_update(channel=channel, ts=ts, **message.as_kwargs())


MOVED = "This assessment continues in a newer message below."


def _move_live_message(client: WebClient, deps: Deps, progress: Progress, channel: str, ts: str) -> None:
    """Make (channel, ts) the one message whose buttons count, and empty the previous one."""
    if (progress.channel_id, progress.message_ts) == (channel, ts):
        return
    services.attach_message(deps.sessions, progress.assessment_id, channel, ts)
    if progress.channel_id and progress.message_ts:
        try:
            update(client, progress.channel_id, progress.message_ts, build_closed_message(MOVED))
        except SlackApiError:
            # Its buttons are refused anyway (the service checks the live message).
            log.warning(
                "could not collapse old message %s of assessment %s", progress.message_ts, progress.assessment_id
            )


def post_question(client: WebClient, deps: Deps, channel: str, progress: Progress, note: str | None = None) -> None:
    """Post the current question as a new message and make it the assessment's live message."""
    ts = post(client, channel, build_question_message(progress, note))
    _move_live_message(client, deps, progress, channel, ts)


def show_question(client: WebClient, deps: Deps, channel: str, ts: str, progress: Progress, note: str | None) -> None:
    """Turn an existing message into the current question and make it the live message."""
    update(client, channel, ts, build_question_message(progress, note))
    _move_live_message(client, deps, progress, channel, ts)


def start_in_dm(client: WebClient, deps: Deps, who: Who) -> None:
    """Begin an assessment in the person's DM, or offer to resume the unfinished one."""
    started = services.start_assessment(deps.sessions, deps.bank, who, deps.clock())
    channel = open_dm(client, who.user)
    if started.resumable:
        post(client, channel, build_resume_offer(started.progress))
    else:
        post_question(client, deps, channel, started.progress)


def publish_home(client: WebClient, deps: Deps, who: Who) -> None:
    report = services.latest_report(deps.sessions, who)
    history = services.history(deps.sessions, who, limit=5)
    progress = services.current_progress(deps.sessions, deps.bank, who, deps.clock())
    client.views_publish(user_id=who.user, view=build_home_view(report, history, progress))


def who_from(body: dict[str, Any]) -> Who:
    """The person behind a Slack request, keyed by workspace so ids never collide across teams."""
    user = body.get("user") or {}
    if isinstance(user, dict):
        user_id = user.get("id", "")
        team = user.get("team_id") or (body.get("team") or {}).get("id")
    else:  # a flat user id
        user_id = str(user)
        team = None
    event = body.get("event") or {}  # Events API: the person is the event's user
    user_id = body.get("user_id") or user_id or event.get("user", "")
    team = (
        body.get("team_id") or team or (body.get("team") or {}).get("id") or event.get("view", {}).get("team_id") or ""
    )
    return Who(workspace=str(team), user=str(user_id))
