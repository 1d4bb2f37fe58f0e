"""The bot scopes the app asks for when a workspace installs it (manifest.yml lists the same; a test checks)."""

from __future__ import annotations

BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "channels:read",
    "groups:read",
    "files:write",
    "files:read",
)
