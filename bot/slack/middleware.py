"""Global middleware: hand listeners their dependencies; drop repeated Events API deliveries."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

from bot import services
from bot.slack.deps import CONTEXT_KEY, Deps

log = logging.getLogger(__name__)


def inject(deps: Deps) -> Callable[..., Any]:
    def inject_deps(context: Any, next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt injects by name
        context[CONTEXT_KEY] = deps
        return next()

    return inject_deps


def drop_duplicate_events(deps: Deps) -> Callable[..., Any]:
    def drop_duplicates(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not services.claim_event(deps.sessions, str(event_id), deps.clock()):
            # Slack redelivers when it thinks we were slow; the first delivery was handled.
            log.info("ignoring repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return drop_duplicates
