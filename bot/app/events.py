"""Deliveries seen once: a redelivered event (Slack retries when it thinks we were slow) is recognised."""

from __future__ import annotations

from datetime import datetime

from bot.app.context import AppContext
from bot.db import events


def claim_event(ctx: AppContext, event_id: str, now: datetime) -> bool:
    """True the first time an event id is seen, False for retries and duplicates."""
    with ctx.sessions.begin() as session:
        return events.claim_event(session, event_id, now)


def forget_events(ctx: AppContext, before: datetime) -> int:
    """Drop the records of events received before ``before``; returns how many."""
    with ctx.sessions.begin() as session:
        return events.forget_events(session, before)
