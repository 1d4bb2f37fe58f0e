"""Scheduled messages leave through here: paced per workspace, and on HTTP 429 the whole queue
waits for Retry-After (Slack's limit is per workspace and method, not per recipient)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_none

from bot.slack.blocks.common import Message
from bot.slack.pacing import Pacer

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 5
# The methods whose 429s the client leaves to the Sender (bot/slack/ratelimits.py); the
# client retries every other call itself.
PACED_METHODS = frozenset({"chat.postMessage"})


def _rate_limited(exc: BaseException) -> bool:
    return isinstance(exc, SlackApiError) and exc.response.status_code == 429


class Sender:
    """Posts through the pacer. The client must leave chat.postMessage's 429s to it (PACED_METHODS):
    this pauses every send, not one call."""

    def __init__(self, client: WebClient, pacer: Pacer) -> None:
        self.client = client
        self.pacer = pacer
        self._attempts = Retrying(
            retry=retry_if_exception(_rate_limited),
            stop=stop_after_attempt(RATE_LIMIT_RETRIES + 1),
            wait=wait_none(),
            before_sleep=self._pause,  # the pacer does the waiting, so the next send of any kind waits too
            reraise=True,
        )

    def _pause(self, state: RetryCallState) -> None:
        assert state.outcome is not None  # tenacity calls before_sleep after a failed attempt
        exc = state.outcome.exception()
        assert isinstance(exc, SlackApiError)
        retry_after = float(exc.response.headers.get("Retry-After", 1))
        log.warning("rate limited posting to %s; pausing the queue for %ss", state.args[0], retry_after)
        self.pacer.pause(retry_after)

    def post(self, channel: str, message: Message) -> dict[str, Any]:
        return self._attempts(self._post_once, channel, message)

    def _post_once(self, channel: str, message: Message) -> dict[str, Any]:
        self.pacer.wait()
        response = self.client.chat_postMessage(channel=channel, **message.as_kwargs())
        return dict(response.data) if isinstance(response.data, dict) else {}
