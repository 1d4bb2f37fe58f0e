"""Who is due a message from the scheduler, and the sends ledger's terms.

The rules over what a scheduled run has read: a channel's digest is due once per period of its
cadence, a person is reminded of an unfinished assessment (twice at most) or invited again once per
re-assessment cycle, each only inside their own working hours. These functions run inside the
caller's transaction (``bot/app/scheduled_run.py``); they open none and send nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.app.bank_registry import Banks
from bot.app.messenger import Invitation, Reminder
from bot.db import people, sends
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


@dataclass
class PeopleDue:
    messages: list[Reminder | Invitation] = field(default_factory=list)  # in the order people were first seen
    outside_hours: int = 0  # due, but not inside their own working hours now


def claim(session: Session, key: SendKey, now: datetime) -> int | None:
    """The right to send one message (its ledger id), or None when it went out or someone else has it."""
    return sends.claim_send(session, key, now, CLAIM_LEASE, MAX_ATTEMPTS)


def digest_period_due(session: Session, ws_id: int, sub: Subscription, now: datetime) -> str | None:
    """The period a digest is due for now, or None when this period's digest went out (or none is due yet)."""
    last = sends.last_digest(session, ws_id, sub.channel_id)
    cadence = Cadence(sub.cadence)
    if not digest_due(cadence, sub.created_at, last.period if last else None, now):
        return None
    return period_key(cadence, now)


def people_due(
    session: Session,
    ws_id: int,
    sub_ids: Sequence[int],
    settings: OutreachSettings,
    now: datetime,
    *,
    banks: Banks | None = None,
) -> PeopleDue:
    """Reminders for unfinished assessments, invitations for stale ones, inside each person's working hours."""
    found = people.candidates(session, ws_id, sub_ids)
    reminded = sends.reminder_periods(session, ws_id)
    bank = banks.of(session, ws_id) if banks is not None else None
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
            position = person.open_position or 0
            reminder = Reminder(person.user_id, person.open_assessment, position, number)
            if bank is not None:
                at = bank.questions[min(position, len(bank) - 1)]
                reminder = replace(reminder, question_id=at.id, total=len(bank))
            due.messages.append(reminder)
            continue
        key = prompt_key(person.last_completed, now, settings.cadence)
        if key is None:
            continue
        if not settings.hours.contains(now, person.tz):
            due.outside_hours += 1
            continue
        due.messages.append(Invitation(person.user_id, person.last_completed, key, settings.cadence.days))
    return due
