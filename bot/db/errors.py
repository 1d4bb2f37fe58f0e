"""Which database errors mean "lost a race, run the transaction again" (callers see no driver types)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from bot.db.assessments import ConcurrentUpdate

# PostgreSQL aborts one of two transactions that wait on each other (deadlock_detected) or that
# cannot be serialised; its documentation's advice for both is to run the transaction again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_lost_race(exc: BaseException) -> bool:
    if isinstance(exc, ConcurrentUpdate):
        return True
    if isinstance(exc, DBAPIError):
        return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES
    return False
