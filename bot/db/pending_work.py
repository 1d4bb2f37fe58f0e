"""The pending-work queue: the web process appends acknowledged Slack requests, workers lease them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, Update, bindparam, delete, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from bot.db.models import PendingWork
from bot.db.sql import rowcount


@dataclass(frozen=True)
class Leased:
    """A queued request a worker holds until ``leased_until``; ``attempts`` counts this lease too."""

    id: int
    kind: str
    payload: str
    attempts: int


_TABLE = PendingWork.__table__
assert isinstance(_TABLE, Table)
_APPEND = insert(_TABLE)


def append(
    session: Session, rows: Sequence[tuple[str, str, str]], now: datetime, *, not_before: datetime | None = None
) -> None:
    """Queue (kind, owner, payload) rows; with ``not_before`` no worker takes them before then."""
    if rows:
        values = [
            {
                "kind": kind,
                "owner": owner,
                "payload": payload,
                "queued_at": now,
                "attempts": 0,
                "leased_until": not_before,
            }
            for kind, owner, payload in rows
        ]
        # The table's INSERT, not the ORM's bulk insert: the outbox writes one of these per burst of acks
        # in the web process, and the ORM's bookkeeping cost more than the statement (bench/ack_latency.py).
        session.execute(_APPEND, values)


def _lease_statement() -> Update:
    """The lease as one statement built once (bound per call): building it afresh for every lease cost
    the worker more CPU than running it."""
    older = aliased(PendingWork)
    first_of_owner = ~exists().where(older.owner == PendingWork.owner, older.id < PendingWork.id)
    free = (
        select(PendingWork.id)
        .where(or_(PendingWork.leased_until.is_(None), PendingWork.leased_until <= bindparam("now")), first_of_owner)
        .order_by(PendingWork.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(PendingWork)
        .where(PendingWork.id.in_(free.scalar_subquery()))
        .values(leased_until=bindparam("until"), attempts=PendingWork.attempts + 1)
        .returning(PendingWork.id, PendingWork.kind, PendingWork.payload, PendingWork.attempts)
        .execution_options(synchronize_session=False)
    )


_LEASE = _lease_statement()
_REMOVE = (
    delete(PendingWork)
    .where(tuple_(PendingWork.id, PendingWork.attempts).in_(bindparam("items", expanding=True)))
    .execution_options(synchronize_session=False)
)


def lease(session: Session, now: datetime, until: datetime, limit: int) -> list[Leased]:
    """Take up to ``limit`` of the oldest free rows (never leased, or whose lease ran out), oldest first.

    Only each owner's oldest row is free: one person's requests are done one at a time
    and in order, however many workers run. On PostgreSQL concurrent workers skip each
    other's locked rows instead of waiting; SQLite's IMMEDIATE transactions already let
    one worker in at a time.
    """
    rows = session.execute(_LEASE, {"now": now, "until": until, "limit": limit}).all()
    return sorted((Leased(*row) for row in rows), key=lambda item: item.id)


def remove_all(session: Session, items: Sequence[Leased]) -> int:
    """Delete done rows in one statement; returns how many were still ours (a lease lost meanwhile
    means another worker took the row again)."""
    if not items:
        return 0
    return rowcount(session.execute(_REMOVE, {"items": [(item.id, item.attempts) for item in items]}))


def extend(session: Session, items: Sequence[Leased], until: datetime) -> int:
    """Push the leases of rows still in hand to ``until``; returns how many were still ours."""
    extended = 0
    for item in items:
        stmt = (
            update(PendingWork)
            .where(PendingWork.id == item.id, PendingWork.attempts == item.attempts)
            .values(leased_until=until)
            .execution_options(synchronize_session=False)
        )
        extended += rowcount(session.execute(stmt))
    return extended


def defer(session: Session, item: Leased, until: datetime, work: tuple[str, str]) -> bool:
    """Turn a leased row into ``work`` (kind, payload), free again at ``until``. Its attempts start
    over: the job made progress, so its earlier leases do not count toward giving up."""
    kind, payload = work
    stmt = (
        update(PendingWork)
        .where(PendingWork.id == item.id, PendingWork.attempts == item.attempts)
        .values(kind=kind, payload=payload, leased_until=until, attempts=0)
        .execution_options(synchronize_session=False)
    )
    return rowcount(session.execute(stmt)) > 0


def remove(session: Session, item: Leased) -> bool:
    """Delete a done row; False when the lease was lost meanwhile (another worker took the row again)."""
    stmt = delete(PendingWork).where(PendingWork.id == item.id, PendingWork.attempts == item.attempts)
    return rowcount(session.execute(stmt.execution_options(synchronize_session=False))) > 0


def backlog(session: Session) -> tuple[int, datetime | None]:
    """How many rows wait, and when the oldest of them was queued."""
    count, oldest = session.execute(select(func.count(PendingWork.id), func.min(PendingWork.queued_at))).one()
    return int(count or 0), oldest  # min() keeps the column's type, so this is an aware UTC datetime
