"""Who is due a message from the scheduler: digests per channel, re-assessment invitations and
reminders per person, and the sends ledger that makes each go out at most once.

Nothing here talks to Slack: the caller reads Slack's directory and channel members,
hands them in, and delivers what these functions say is due (bot/slack/scheduled.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.app.context import AppContext
from bot.db import digests, people, sends
from bot.domain.digest import Subscription
from bot.domain.schedule import (
    DEFAULT_HOURS,
    Cadence,
    SendKey,
    WorkingHours,
    digest_due,
    period_key,
    prompt_key,
    reminder_due,
)

CLAIM_LEASE = timedelta(minutes=10)  # a claim older than this belongs to a scheduler that died mid-send
MAX_ATTEMPTS = 5  # a failed send is retried on this many ticks


@dataclass(frozen=True)
class OutreachSettings:
    min_respondents: int = 5
    cadence: timedelta = timedelta(days=90)
    hours: WorkingHours = DEFAULT_HOURS
    send_rate: float = 2.0  # messages per second per workspace


@dataclass(frozen=True)
class DirectoryEntry:
    """One person as the chat directory describes them."""

    tz: str | None
    active: bool  # a human whose account is not deactivated


@dataclass(frozen=True)
class Reminder:
    user_id: str
    assessment_id: int
    position: int
    number: int  # 1 or 2

    @property
    def period(self) -> str:
        return f"{self.assessment_id}:{self.number}"


@dataclass(frozen=True)
class Invitation:
    user_id: str
    last_completed: datetime | None
    period: str  # the re-assessment cycle, so one invitation goes out per cycle


@dataclass
class PeopleDue:
    messages: list[Reminder | Invitation] = field(default_factory=list)  # in the order people were first seen
    outside_hours: int = 0  # due, but not inside their own working hours now


def sync_directory(ctx: AppContext, team: str, directory: Mapping[str, DirectoryEntry], now: datetime) -> int:
    """The workspace's id, with the time zone and status of everyone already known brought up to date."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, team, now)
        people.update_directory(session, ws_id, {u: (p.tz, p.active) for u, p in directory.items()})
    return ws_id


def subscriptions(ctx: AppContext, ws_id: int) -> list[Subscription]:
    with ctx.sessions.begin() as session:
        return digests.subscriptions(session, ws_id)


def subscription(ctx: AppContext, ws_id: int, channel_id: str) -> Subscription | None:
    with ctx.sessions.begin() as session:
        return digests.subscription(session, ws_id, channel_id)


def set_members(ctx: AppContext, ws_id: int, sub_id: int, humans: Mapping[str, str | None], now: datetime) -> bool:
    """The channel's current human members (user id -> time zone) become the team; False when the
    digest was deleted since the run listed it. The subscription's row is held first, so a second
    scheduler refreshing the same channel waits for this one."""
    with ctx.sessions.begin() as session:
        if not digests.lock_subscription(session, sub_id):
            return False
        people.ensure_respondents(session, ws_id, humans, now)
        digests.replace_members(session, sub_id, list(humans))
    return True


def pause_digest(ctx: AppContext, sub_id: int, reason: str) -> bool:
    """Pause the digest; False when another scheduler paused it first (and tells its owner)."""
    with ctx.sessions.begin() as session:
        return digests.pause_subscription(session, sub_id, reason)


def digest_period_due(ctx: AppContext, ws_id: int, sub: Subscription, now: datetime) -> str | None:
    """The period a digest is due for now, or None when this period's digest went out (or none is due yet)."""
    with ctx.sessions.begin() as session:
        last = sends.last_digest(session, ws_id, sub.channel_id)
    cadence = Cadence(sub.cadence)
    if not digest_due(cadence, sub.created_at, last.period if last else None, now):
        return None
    return period_key(cadence, now)


def people_due(
    ctx: AppContext, ws_id: int, sub_ids: Sequence[int], settings: OutreachSettings, now: datetime
) -> PeopleDue:
    """Reminders for unfinished assessments, invitations for stale ones, inside each person's working hours."""
    with ctx.sessions.begin() as session:
        found = people.candidates(session, ws_id, sub_ids)
        reminded = sends.reminder_periods(session, ws_id)
    due = PeopleDue()
    for person in found:
        if person.reminders_paused or (person.snoozed_until is not None and person.snoozed_until > now):
            continue
        if person.open_assessment is not None and person.open_updated is not None:
            sent = sum(1 for n in (1, 2) if f"{person.open_assessment}:{n}" in reminded)
            number = reminder_due(person.open_updated, sent, now)
            if number is None:
                continue
            if not settings.hours.contains(now, person.tz):
                due.outside_hours += 1
                continue
            due.messages.append(Reminder(person.user_id, person.open_assessment, person.open_position or 0, number))
            continue
        key = prompt_key(person.last_completed, now, settings.cadence)
        if key is None:
            continue
        if not settings.hours.contains(now, person.tz):
            due.outside_hours += 1
            continue
        due.messages.append(Invitation(person.user_id, person.last_completed, key))
    return due


def claim_send(ctx: AppContext, key: SendKey, now: datetime) -> int | None:
    """The right to send one message (its ledger id), or None when it went out or someone else has it."""
    with ctx.sessions.begin() as session:
        return sends.claim_send(session, key, now, CLAIM_LEASE, MAX_ATTEMPTS)


def record_sent(
    ctx: AppContext, send_id: int, now: datetime, where: tuple[str | None, str | None], payload: dict[str, Any] | None
) -> None:
    """The message went out; ``where`` is its (channel, ts), ``payload`` what a digest showed."""
    channel, ts = where
    with ctx.sessions.begin() as session:
        sends.finish_send(session, send_id, "sent", now, channel_id=channel, ts=ts, payload=payload)


def record_failed(ctx: AppContext, send_id: int, now: datetime, error: str, final: bool) -> None:
    """The send failed: ``final`` when retrying cannot help (the channel or person is gone)."""
    with ctx.sessions.begin() as session:
        sends.finish_send(session, send_id, "skipped" if final else "failed", now, error=error)
