"""Work after the ack: Bolt listeners acknowledge a request and queue it; the worker does the rest.

Keeping the database and Web API work out of the process that answers Slack is what
keeps acks fast under load (docs/benchmarks.md): that process only verifies, acks
and appends one row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.slack import dm
from bot.slack.deps import Deps, deps_of
from bot.slack.errors import handle_error
from bot.slack.ids import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """One queued request, as the worker hands it to a handler."""

    body: dict[str, Any]
    client: WebClient
    deps: Deps
    respond: Respond | None  # None when the request carried no response_url (events)

    @property
    def action(self) -> dict[str, Any]:
        actions = self.body.get("actions") or [{}]
        return dict(actions[0])


Handler = Callable[[Task], None]


def respond_for(body: dict[str, Any]) -> Respond | None:
    url = body.get("response_url")
    return Respond(response_url=url) if url else None


def owner_of(body: dict[str, Any]) -> str:
    """team:user of a slash command, block action or event body (the worker serialises per owner)."""
    who = dm.who_from(body)
    return f"{who.workspace}:{who.user}"


def queue(deps: Deps, kind: Work, body: dict[str, Any]) -> None:
    if deps.outbox is None:
        raise RuntimeError("listeners need Deps with an outbox: build them with build_deps(..., serving=True)")
    deps.outbox.put(kind.value, owner_of(body), body)


def report_lost(error: Exception, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Requests that were acked but could not be queued: tell each person, through the central handler."""
    for _, _, body in entries:
        handle_error(error, body, respond_for(body), log)


def ack_and_queue(kind: Work) -> Callable[..., None]:
    """A Bolt listener that acknowledges at once and leaves the work to the worker."""

    def listener(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        queue(deps_of(context), kind, body)

    listener.__name__ = f"queue_{kind.value}"
    return listener
