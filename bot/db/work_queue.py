"""The pending-work queue: the web process appends acknowledged Slack requests, workers lease them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.db.models import PendingWork


@dataclass(frozen=True)
class Leased:
    """A queued request a worker holds until ``leased_until``; ``attempts`` counts this lease too."""

    id: int
    kind: str
    payload: str
    attempts: int


def append(session: Session, rows: Sequence[tuple[str, str]], now: datetime) -> None:
    """Queue (kind, payload) rows in one statement."""
    if rows:
        values = [{"kind": kind, "payload": payload, "queued_at": now, "attempts": 0} for kind, payload in rows]
        session.execute(insert(PendingWork), values)


def lease(session: Session, now: datetime, until: datetime, limit: int) -> list[Leased]:
    """Take up to ``limit`` of the oldest free rows (never leased, or whose lease ran out), oldest first.

    On PostgreSQL concurrent workers skip each other's locked rows instead of waiting;
    SQLite's IMMEDIATE transactions already let one worker in at a time.
    """
    free = (
        select(PendingWork.id)
        .where(or_(PendingWork.leased_until.is_(None), PendingWork.leased_until <= now))
        .order_by(PendingWork.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(PendingWork)
        .where(PendingWork.id.in_(free.scalar_subquery()))
        .values(leased_until=until, attempts=PendingWork.attempts + 1)
        .returning(PendingWork.id, PendingWork.kind, PendingWork.payload, PendingWork.attempts)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(stmt).all()
    return sorted((Leased(*row) for row in rows), key=lambda item: item.id)


def remove(session: Session, item: Leased) -> bool:
    """Delete a done row; False when the lease was lost meanwhile (another worker took the row again)."""
    stmt = delete(PendingWork).where(PendingWork.id == item.id, PendingWork.attempts == item.attempts)
    return bool(session.execute(stmt.execution_options(synchronize_session=False)).rowcount)


def waiting(session: Session) -> int:
    return int(session.scalar(select(func.count(PendingWork.id))) or 0)
