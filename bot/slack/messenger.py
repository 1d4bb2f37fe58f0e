"""The scheduler's port (bot/app/messenger.Messenger) on one workspace's Slack client.

Reads the directory (users.list) and a channel's members (conversations.members), renders each
message with the Block Kit builders, posts it through the paced ``Sender`` and uploads a digest's
trend chart into its thread (bot/slack/work/charts.py); closes an idle session's live question
message (chat.update) and posts its summary. Slack's refusals become ``Refused``,
classified here and nowhere else: the channel or the person gone for good, or worth another try.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.messenger import (
    DirectoryEntry,
    Gone,
    Invitation,
    PausedNotice,
    Posted,
    Refused,
    Reminder,
    TrendChart,
)
from bot.app.team_sessions import Ended
from bot.domain.digest import Digest
from bot.domain.questionnaire import Questionnaire
from bot.slack.blocks.common import Message
from bot.slack.blocks.digest import build_digest_message, build_paused_digest_notice
from bot.slack.blocks.outreach import build_prompt_message, build_reminder_at, build_reminder_message
from bot.slack.blocks.session import build_session_closed, build_summary_message
from bot.slack.directory import fetch_directory, fetch_members
from bot.slack.sender import Sender
from bot.slack.work.charts import send_digest_chart

CHANNEL_GONE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "access_denied"})
USER_GONE = frozenset({"user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot"})


def refusal(exc: SlackApiError) -> Refused:
    """Slack's answer as the scheduled run understands it: its error, and whether retrying can help."""
    error = str(exc.response.get("error") or exc.response.status_code)
    if error in CHANNEL_GONE:
        return Refused(error, Gone.CHANNEL)
    if error in USER_GONE:
        return Refused(error, Gone.USER)
    return Refused(error)  # a rate limit the sender could not wait out, an outage: a later tick tries again


class SlackMessenger:
    """One workspace: its client (the scheduler's own, which waits out every 429 but chat.postMessage's),
    the ``Sender`` that paces its posts, and the question bank a reminder quotes."""

    def __init__(self, client: WebClient, sender: Sender, bank: Questionnaire) -> None:
        self.client = client
        self.sender = sender
        self.bank = bank

    def team_id(self) -> str:
        # An org-wide install's client names its workspace (team_id); a workspace token knows its own.
        return str(self.client.default_params.get("team_id") or self.client.auth_test()["team_id"])

    def directory(self) -> dict[str, DirectoryEntry]:
        return fetch_directory(self.client)

    def channel_members(self, channel: str) -> list[str]:
        try:
            return fetch_members(self.client, channel)
        except SlackApiError as exc:
            raise refusal(exc) from exc

    def post_digest(self, channel: str, digest: Digest) -> Posted:
        return self._post(channel, build_digest_message(digest, channel))

    def post_invitation(self, invitation: Invitation) -> Posted:
        return self._post(invitation.user_id, build_prompt_message(invitation.last_completed, invitation.cadence_days))

    def post_reminder(self, reminder: Reminder) -> Posted:
        if reminder.question_id:  # the workspace's bank, as the scheduled run found it
            message = build_reminder_at(
                reminder.assessment_id, reminder.question_id, reminder.position, reminder.total, reminder.number
            )
        else:
            message = build_reminder_message(reminder.assessment_id, self.bank, reminder.position, reminder.number)
        return self._post(reminder.user_id, message)

    def post_paused_notice(self, notice: PausedNotice) -> Posted:
        return self._post(notice.user_id, build_paused_digest_notice(notice.channel, notice.reason))

    def send_trend_chart(self, chart: TrendChart) -> None:
        send_digest_chart(self.client, chart)

    def close_session_message(self, ended: Ended) -> None:
        if not ended.live_ts:
            return
        closed = build_session_closed(f"Team session: {ended.scope}")
        try:  # the scheduler's client waits out chat.update's 429s (Tier 3)
            self.client.chat_update(channel=ended.channel, ts=ended.live_ts, **closed.as_kwargs())
        except SlackApiError as exc:
            raise refusal(exc) from exc

    def post_session_summary(self, ended: Ended) -> Posted:
        return self._post(ended.channel, build_summary_message(ended))

    def _post(self, target: str, message: Message) -> Posted:
        try:
            response = self.sender.post(target, message)
        except SlackApiError as exc:
            raise refusal(exc) from exc
        ts = response.get("ts")
        return Posted(str(response.get("channel") or target), None if ts is None else str(ts))
