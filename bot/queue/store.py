"""The queue's transactions over the pending-work table: append, lease, renew, finish, count."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.db import pending_work
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

    def extend(self, items: Sequence[Leased], until: datetime) -> int:
        with self._sessions.begin() as session:
            return pending_work.extend(session, items, until)

    def finish(self, item: Leased) -> bool:
        """Delete a done row; False when another worker has taken it over meanwhile."""
        with self._sessions.begin() as session:
            return pending_work.remove(session, item)

    def backlog(self) -> tuple[int, datetime | None]:
        """Queued requests not yet done, and when the oldest was queued (None when there are none)."""
        with self._sessions() as session:
            return pending_work.backlog(session)
