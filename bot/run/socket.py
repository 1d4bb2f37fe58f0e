"""Serving the app over Socket Mode: no public URL needed."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.run.signals import stop_event
from bot.startup import StartupProblem

log = logging.getLogger(__name__)


class SocketModeRefused(StartupProblem):
    """Slack would not open a Socket Mode connection with the given app token."""


def serve_socket(app: App, settings: Settings) -> None:
    """Socket Mode: no public URL needed; SIGTERM closes the connection cleanly."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert settings.SLACK_APP_TOKEN is not None
    handler = SocketModeHandler(app, settings.SLACK_APP_TOKEN.get_secret_value())
    stop = stop_event()
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except SlackApiError as exc:
        raise SocketModeRefused(
            f"SLACK_APP_TOKEN: Slack refused the Socket Mode connection ({exc.response.get('error')}); "
            "check the app-level token and that Socket Mode is enabled for the app"
        ) from exc
    if handler.client.is_connected():
        log.info("connected to Slack in Socket Mode")
    else:
        log.warning("Socket Mode connection not established yet; retrying in the background")
    stop.wait()
    handler.close()  # type: ignore[no-untyped-call]
