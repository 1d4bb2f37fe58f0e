"""Acknowledge and queue: all a Bolt listener does with a request that needs the database or the Web API.

Keeping that work out of the process that answers Slack is what keeps acks fast under
load (docs/benchmarks.md): that process only verifies, acks and hands the body to the
outbox; a worker does the rest (bot/slack/work/).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.slack.deps import Deps, deps_of
from bot.slack.ids import Work
from bot.slack.payloads import owner_of


def queue(deps: Deps, kind: Work, body: dict[str, Any]) -> None:
    if deps.outbox is None:
        raise RuntimeError("listeners need Deps with an outbox: build them with build_deps(..., serving=True)")
    deps.outbox.put(kind.value, owner_of(body), body)


def ack_and_queue(kind: Work) -> Callable[..., None]:
    """A Bolt listener that acknowledges at once and leaves the work to the worker."""

    def listener(ack: Ack, body: dict[str, Any], context: Any) -> None:
        # Queued before the ack (put only hands the body to the outbox's writer, it never waits): Bolt
        # answers Slack as soon as ack() returns, so a person's next click could otherwise be queued
        # before this one and be done first (a changed vote overwritten by the vote it changed).
        queue(deps_of(context), kind, body)
        ack()

    listener.__name__ = f"queue_{kind.value}"
    return listener
