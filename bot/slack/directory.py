"""Reading Slack's directory: who is in a channel, who is an active human, and their time zone."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

PAGE = 200


@dataclass(frozen=True)
class Person:
    tz: str | None
    active: bool  # a human whose account is not deactivated


def fetch_directory(client: WebClient) -> dict[str, Person]:
    """Everyone in the workspace (users.list, paginated): one call per 200 people.

    users.list gives time zones for the whole team in a few calls, where users.info
    would need one call per person (Tier 4, ~100/min: 50 minutes for 5,000 people).
    """
    people: dict[str, Person] = {}
    cursor = ""
    while True:
        response = client.users_list(limit=PAGE, cursor=cursor or None)
        for user in response.get("members") or []:
            human = not user.get("is_bot") and user.get("id") != "USLACKBOT" and not user.get("is_app_user")
            people[user["id"]] = Person(tz=user.get("tz"), active=human and not user.get("deleted"))
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return people


def fetch_members(client: WebClient, channel: str) -> list[str]:
    """Every member id of a channel (conversations.members, paginated)."""
    members: list[str] = []
    cursor = ""
    while True:
        response = client.conversations_members(channel=channel, limit=PAGE, cursor=cursor or None)
        members.extend(response.get("members") or [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return members
