"""The one place listener errors end up: log with a reference id, tell the person briefly."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.domain.errors import CompassError
from bot.slack.ids import StaleButton

log = logging.getLogger("bot.slack.errors")


def reference() -> str:
    return uuid.uuid4().hex[:8]


def user_message(error: Exception, ref: str) -> str:
    if isinstance(error, CompassError):
        return error.user_message if isinstance(error, StaleButton) else error.detail
    if isinstance(error, SlackApiError):
        return f"Slack did not accept my reply (ref `{ref}`). Your answers are saved; click again in a minute."
    return f"Sorry, something went wrong on my side (ref `{ref}`). Your answers are saved; please try again."


def handle_error(error: Exception, body: dict[str, Any], respond: Any, logger: logging.Logger) -> BoltResponse | None:
    """Global Bolt error handler."""
    ref = reference()
    kind = body.get("type") or ("slash_command" if "command" in body else "unknown")
    user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else body.get("user_id")
    if isinstance(error, CompassError):
        log.info("ref=%s %s for user %s: %s", ref, kind, user, error)
    else:
        log.error("ref=%s unhandled error in %s for user %s", ref, kind, user, exc_info=error)
    text = user_message(error, ref)
    if respond is not None and body.get("response_url"):
        try:
            respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:  # the channel back to the user is down too; the log has it all
            log.warning("ref=%s could not tell the user about the error", ref, exc_info=True)
    # Known errors were handled; answering 200 keeps Slack from showing its own failure.
    return BoltResponse(status=200, body="") if isinstance(error, CompassError) else None
