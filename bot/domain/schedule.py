"""When to invite, remind and post digests: pure calendar arithmetic, the time passed in.

Everything is computed from aware datetimes; local working hours use zoneinfo, so
they stay right across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REMINDER_AFTER = (timedelta(days=3), timedelta(days=7))  # after the last activity; then no more


class Cadence(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True)
class SendKey:
    """What makes a scheduled message unique: at most one is ever sent per key."""

    kind: str  # digest, prompt, reminder, notice
    workspace_id: int
    target: str  # channel or user id
    period: str  # the digest period, the re-assessment cycle, "assessment:number" for reminders


@dataclass(frozen=True)
class WorkingHours:
    """Local days and hours in which people may be messaged; end hour exclusive."""

    days: frozenset[int]  # 0 = Monday
    start_hour: int
    end_hour: int

    def contains(self, now: datetime, tz_name: str | None) -> bool:
        """Whether ``now`` falls inside these hours in the person's own time zone."""
        local = now.astimezone(zone(tz_name))
        return local.weekday() in self.days and self.start_hour <= local.hour < self.end_hour


DEFAULT_HOURS = WorkingHours(frozenset({1, 2, 3}), 10, 16)


def zone(tz_name: str | None) -> ZoneInfo:
    """The person's zone; unknown or missing names fall back to UTC rather than failing a run."""
    if not tz_name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_key(cadence: Cadence, now: datetime) -> str:
    """The digest period ``now`` falls in (UTC): 2026-W48, 2026-11 or 2026-Q4."""
    day = now.astimezone(UTC).date()
    if cadence is Cadence.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence is Cadence.MONTHLY:
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_label(cadence: Cadence, now: datetime) -> str:
    day = now.astimezone(UTC).date()
    if cadence is Cadence.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"week {week}, {year}"
    if cadence is Cadence.MONTHLY:
        return f"{day:%B %Y}"
    return f"Q{(day.month - 1) // 3 + 1} {day.year}"


def digest_due(cadence: Cadence, subscribed_at: datetime, last_period: str | None, now: datetime) -> bool:
    """A digest is due once per period, starting with the first full period after subscribing."""
    current = period_key(cadence, now)
    return current != period_key(cadence, subscribed_at) and current != last_period


def prompt_key(last_completed: datetime | None, now: datetime, cadence: timedelta) -> str | None:
    """The re-assessment cycle a person is due in, or None when their assessment is current.

    The key changes once per cadence, so a person who ignores an invitation gets one more
    a cadence later, never more often.
    """
    if last_completed is None:
        epoch_days = (now.astimezone(UTC).date() - date(1970, 1, 1)).days
        return f"never:{epoch_days // cadence.days}"
    age = now - last_completed
    if age < cadence:
        return None
    return f"{last_completed.astimezone(UTC):%Y%m%d}:{age // cadence}"


def reminder_due(last_activity: datetime, reminders_sent: int, now: datetime) -> int | None:
    """The number (1 or 2) of the reminder due for an unfinished assessment, if any."""
    if reminders_sent >= len(REMINDER_AFTER):
        return None
    if now - last_activity >= REMINDER_AFTER[reminders_sent]:
        return reminders_sent + 1
    return None
