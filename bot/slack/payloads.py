"""Reading Slack request bodies: who is behind a request, and which message a button sits on."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.app.types import Who


def who_from(body: dict[str, Any]) -> Who:
    """The person behind a Slack request, keyed by workspace so ids never collide across teams."""
    user = body.get("user") or {}
    if isinstance(user, dict):
        user_id = user.get("id", "")
        team = user.get("team_id") or (body.get("team") or {}).get("id")
    else:  # a flat user id
        user_id = str(user)
        team = None
    event = body.get("event") or {}  # Events API: the person is the event's user
    user_id = body.get("user_id") or user_id or event.get("user", "")
    team = (
        body.get("team_id") or team or (body.get("team") or {}).get("id") or event.get("view", {}).get("team_id") or ""
    )
    return Who(workspace=str(team), user=str(user_id))


def owner_of(body: dict[str, Any]) -> str:
    """team:user of a slash command, block action or event body (the worker serialises per owner)."""
    who = who_from(body)
    return f"{who.workspace}:{who.user}"


def message_of(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Channel and ts of the message a button sits on; (None, None) for App Home."""
    container = body.get("container") or {}
    if container.get("type") == "message":
        return container.get("channel_id"), container.get("message_ts")
    return None, None


def first_action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return dict(actions[0])


def subcommand(command: dict[str, Any]) -> tuple[str, list[str]]:
    """The subcommand of a `/compass` command (``help`` when there is none) and the words after it."""
    words = (command.get("text") or "").split()
    return (words[0].lower() if words else "help"), words[1:]


def action_form_values(view: dict[str, Any]) -> tuple[str, str | None, date | None]:
    """What, owner and due date as a submitted action form (blocks/session.build_action_form) holds them;
    a due date Slack's datepicker would never send counts as none."""
    values = (view.get("state") or {}).get("values") or {}
    text = str(((values.get("what") or {}).get("what") or {}).get("value") or "")
    owner = ((values.get("owner") or {}).get("owner") or {}).get("selected_user")
    raw_due = ((values.get("due") or {}).get("due") or {}).get("selected_date")
    try:
        due = date.fromisoformat(raw_due) if raw_due else None
    except ValueError:
        due = None
    return text, owner or None, due
