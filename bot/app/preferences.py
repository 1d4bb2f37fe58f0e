"""A person's own controls over invitations and reminders."""

from __future__ import annotations

from datetime import datetime

from bot.app.context import AppContext
from bot.app.types import Who
from bot.db import people


def set_reminders(
    ctx: AppContext, who: Who, now: datetime, *, paused: bool | None = None, snooze_until: datetime | None = None
) -> None:
    """Pause or resume invitations and reminders for a person, or snooze them until a time."""
    with ctx.sessions.begin() as session:
        respondent = people.get_or_create_respondent(session, who.workspace, who.user, now)
        people.set_preferences(session, respondent, paused=paused, snooze_until=snooze_until)
