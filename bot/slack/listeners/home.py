"""App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.services import Who
from bot.slack import dm
from bot.slack.deps import deps_of


def handle_app_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Publish the person's home tab: latest result, history, Start or Resume."""
    if event.get("tab") != "home":  # the Messages tab fires the same event
        return
    team = body.get("team_id") or event.get("view", {}).get("team_id") or ""
    dm.publish_home(client, deps_of(context), Who(workspace=team, user=event["user"]))


def register(app: App) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
