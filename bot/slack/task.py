"""A queued Slack request as a worker-side handler gets it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.slack.deps import Deps
from bot.slack.payloads import first_action


@dataclass(frozen=True)
class Task:
    body: dict[str, Any]
    client: WebClient
    deps: Deps
    respond: Respond | None  # None when the request carried no response_url (events)

    @property
    def action(self) -> dict[str, Any]:
        return first_action(self.body)


Handler = Callable[[Task], None]


def respond_for(body: dict[str, Any]) -> Respond | None:
    url = body.get("response_url")
    return Respond(response_url=url) if url else None
