"""The queue's transactions: append, lease, renew, finish and count pending work; workers' beats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.db import beats, pending_work
from bot.db.beats import Beater
from bot.db.pending_work import Leased
from bot.db.session import SessionFactory

Row = tuple[str, str, str]  # kind, owner, JSON payload


class QueueStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def append(self, rows: Sequence[Row], now: datetime) -> None:
        """Keep acknowledged requests, (kind, owner, JSON payload), for a worker."""
        with self._sessions.begin() as session:
            pending_work.append(session, rows, now)

    def lease(self, now: datetime, lease: timedelta, limit: int) -> list[Leased]:
        with self._sessions.begin() as session:
            return pending_work.lease(session, now, now + lease, limit)

    def postpone(self, item: Leased, until: datetime) -> None:
        """Keep a leased row for later (a kind only a newer worker knows)."""
        with self._sessions.begin() as session:
            pending_work.extend(session, [item], until)

    def defer(self, item: Leased, until: datetime, kind: str, payload: str) -> bool:
        """Keep a leased row in its place as ``kind`` with ``payload``, for a lease from ``until``;
        False when another worker has taken it over meanwhile."""
        with self._sessions.begin() as session:
            return pending_work.defer(session, item, until, (kind, payload))

    def finish_and_lease(
        self, done: Sequence[Leased], now: datetime, lease: timedelta, limit: int
    ) -> tuple[int, list[Leased]]:
        """Delete the rows of finished jobs and lease up to ``limit`` free rows, in one transaction; returns
        how many finished rows were still ours, and the leased rows."""
        if not done and limit <= 0:
            return 0, []
        with self._sessions.begin() as session:
            kept = pending_work.remove_all(session, done)
            return kept, pending_work.lease(session, now, now + lease, limit) if limit > 0 else []

    def finish(self, item: Leased) -> bool:
        """Delete a done row; False when another worker has taken it over meanwhile."""
        with self._sessions.begin() as session:
            return pending_work.remove(session, item)

    def backlog(self) -> tuple[int, datetime | None]:
        """Queued requests not yet done, and when the oldest was queued (None when there are none)."""
        with self._sessions() as session:
            return pending_work.backlog(session)

    def beat(self, who: Beater, now: datetime, in_hand: Sequence[Leased], lease: timedelta) -> int:
        """One heartbeat: the worker is alive and still holds ``in_hand``; returns the leases still ours."""
        with self._sessions.begin() as session:
            beats.beat(session, who, now)
            return pending_work.extend(session, in_hand, now + lease)

    def stop_beating(self, who: Beater) -> None:
        with self._sessions.begin() as session:
            beats.stop(session, who.id)

    def forget_beats(self, before: datetime) -> int:
        """Drop the beats of processes gone since before ``before`` (a killed one never removes its own)."""
        with self._sessions.begin() as session:
            return beats.forget_before(session, before)
