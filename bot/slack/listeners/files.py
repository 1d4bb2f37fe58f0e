"""Files shared in the app's DM: a question bank an admin uploads; queued to be checked and previewed."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.deps import deps_of
from bot.slack.ids import Work
from bot.slack.listeners.enqueue import queue


def handle_file_shared_in_dm(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
    """Queue checking a file shared in the app's DM as a question bank (Bolt has already acked)."""
    if event.get("channel_type") == "im" and event.get("files") and not event.get("bot_id"):
        queue(deps_of(context), Work.BANK_UPLOAD, body)


def ignore_message(event: dict[str, Any]) -> None:
    """Any other DM message: nothing to do (answers are buttons), but acknowledged, not left unhandled."""


def register(app: App) -> None:
    # Bolt runs the first listener that matches: the file shares, then every other message.
    app.event({"type": "message", "subtype": "file_share"})(handle_file_shared_in_dm)
    app.event("message")(ignore_message)
