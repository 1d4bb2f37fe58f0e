"""Reading Slack's directory: who is in a channel, who is an active human, and their time zone.

Pages are followed by slack_sdk (iterating a response fetches the next ``cursor``).
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.app.messenger import DirectoryEntry

PAGE = 200


def fetch_directory(client: WebClient) -> dict[str, DirectoryEntry]:
    """Everyone in the workspace (users.list, paginated): one call per 200 people.

    users.list gives time zones for the whole team in a few calls, where users.info
    would need one call per person (Tier 4, ~100/min: 50 minutes for 5,000 people).
    """
    people: dict[str, DirectoryEntry] = {}
    for page in client.users_list(limit=PAGE):
        for user in page.get("members") or []:
            human = not user.get("is_bot") and user.get("id") != "USLACKBOT" and not user.get("is_app_user")
            people[user["id"]] = DirectoryEntry(tz=user.get("tz"), active=human and not user.get("deleted"))
    return people


def fetch_members(client: WebClient, channel: str) -> list[str]:
    """Every member id of a channel (conversations.members, paginated)."""
    members: list[str] = []
    for page in client.conversations_members(channel=channel, limit=PAGE):
        members.extend(page.get("members") or [])
    return members
