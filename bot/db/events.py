"""Deliveries already handled: Slack Events API ids, kept long enough to recognise a retry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.db.models import ProcessedEvent
from bot.db.sql import insert_or_skip, rowcount


def claim_event(session: Session, event_id: str, now: datetime) -> bool:
    """Record an event id; False when it was recorded before (a retry or duplicate)."""
    stmt = (
        insert_or_skip(session, ProcessedEvent)
        .values(event_id=event_id, received_at=now)
        .returning(ProcessedEvent.event_id)
    )
    # rowcount is not reliable for INSERT .. ON CONFLICT across drivers; RETURNING is.
    return session.execute(stmt).first() is not None


def forget_events(session: Session, before: datetime) -> int:
    """Delete event ids received before ``before``; Slack stops retrying within minutes."""
    stmt = delete(ProcessedEvent).where(ProcessedEvent.received_at < before)
    return rowcount(session.execute(stmt.execution_options(synchronize_session=False)))
