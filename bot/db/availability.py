"""Telling a database that is away from one that refuses a statement, and saying so once.

While PostgreSQL restarts, every attempt to reach it fails the same way; a traceback per
attempt buries the one fact an operator needs (it went, it came back). ``Availability``
logs one line when the database goes and one when it is back.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)


# SQLite reports a missing table as an OperationalError too; that is a schema problem, not an outage.
SCHEMA_PROBLEMS = ("no such table", "no such column")


def is_unavailable(exc: BaseException) -> bool:
    """The database could not be reached (down, restarting, connection cut, pool exhausted)."""
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, OperationalError):
        return not one_line(exc).startswith(SCHEMA_PROBLEMS)
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def one_line(exc: BaseException) -> str:
    """The driver's own reason, first line only, without SQLAlchemy's statement and link."""
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(reason).splitlines() if line.strip()]
    return lines[0] if lines else type(reason).__name__


class Availability:
    """Remembers whether the database was last seen up, logging each change once per process part."""

    def __init__(self, who: str) -> None:
        self._who = who
        self._lock = threading.Lock()
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        log.warning("%s: database unavailable (%s); retrying until it is back", self._who, one_line(exc))

    def succeeded(self) -> None:
        if self._down_since is None:  # the common case, without the lock
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            log.warning("%s: database is back after %.1f s", self._who, time.monotonic() - since)
