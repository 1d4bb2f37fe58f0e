"""Taking delivery signals fast: sources cached in the web process, deliveries stored by group commit.

One transaction per webhook capped a web process at ~150 webhooks/s (docs/benchmarks.md).
Here a request thread finds the source in a cache (``SOURCE_TTL`` seconds; a miss reads the
database), checks the signature and parses outside any transaction, then hands what is to be
stored to one writer thread and waits. The writer (bot/db/group_commit.py) stores every
delivery waiting in ONE transaction and wakes each request with its own answer (stored, or
already stored), so a 2xx still means "committed".

A cached copy is never trusted for storing: the writer reads the batch's sources again in its
own transaction and sends back any delivery checked against a copy that has since changed
(rotated secret, edited environment) or gone (removed source); that request looks the source
up afresh and is checked again. A 401 or 404 decided on a cached copy is looked up afresh too
(a new secret works at once). What a stale copy can still do, for up to ``SOURCE_TTL`` after a
change: answer 400, 202 or the GitHub ping for a removed source (nothing is stored).

A batch that fails is stored again one delivery per transaction, so one bad row fails only its
own request. A request not stored within ``PATIENCE`` seconds gets an error (503 over HTTP):
it may still be stored by a transaction already under way; a redelivery is then "already stored".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from bot.app import signals
from bot.app.signals import Checked, Incoming, Outcome, Receipt
from bot.db import signals as store
from bot.db.availability import is_unavailable, one_line
from bot.db.group_commit import GroupCommit
from bot.db.session import SessionFactory

log = logging.getLogger(__name__)

SOURCE_TTL = 5.0  # seconds a cached source answers without the database
PATIENCE = 5.0  # seconds a request waits for its delivery to be committed
MAX_BATCH = 200  # deliveries per transaction


class NotStored(RuntimeError):
    """The delivery could not be stored in time (the database is slow or away): nothing was acknowledged."""


class _Result(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    STALE = "stale"  # checked against a source that has changed since: check it again


class Delivery(NamedTuple):
    checked: Checked  # against a cached copy of its source, which the writer compares with the stored one
    now: datetime


class SourceCache:
    """Sources by id for ``ttl`` seconds; unknown ids are not cached (each is looked up)."""

    def __init__(
        self, sessions: SessionFactory, ttl: float = SOURCE_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._clock = clock
        self._cached: dict[str, tuple[store.Source, float]] = {}
        self._lock = threading.Lock()

    def get(self, source_id: str) -> tuple[store.Source | None, bool]:
        """The source, and whether it was just read from the database (rather than the cache)."""
        now = self._clock()
        with self._lock:
            hit = self._cached.get(source_id)
        if hit is not None and now - hit[1] < self._ttl:
            return hit[0], False
        return self.refresh(source_id), True

    def refresh(self, source_id: str) -> store.Source | None:
        source = signals.find_source(self._sessions, source_id)
        with self._lock:
            if source is None:
                self._cached.pop(source_id, None)
            else:
                self._cached[source_id] = (source, self._clock())
        return source


class DeliveryWriter:
    """Deliveries stored by group commit; each caller waits for its own answer, for up to ``patience``."""

    def __init__(self, sessions: SessionFactory, patience: float = PATIENCE, max_batch: int = MAX_BATCH) -> None:
        self._sessions = sessions
        self._patience = patience
        self.commits: GroupCommit[Delivery, tuple[_Result, int]] = GroupCommit(
            self._commit, name="signals", max_batch=max_batch, split_when=_maybe_one_bad_row
        )

    def store(self, checked: Checked, now: datetime) -> tuple[_Result, int]:
        """Store one delivery, or learn it was stored before, with how many of its events were new;
        raises NotStored after ``patience``."""
        answer = self.commits.submit(Delivery(checked, now))
        try:
            error = answer.exception(self._patience)
        except TimeoutError:
            answer.cancel()  # unless the writer has taken it already, it skips it: nothing of it is stored
            raise NotStored(f"not stored within {self._patience:.0f} s") from None
        if error is not None:
            raise NotStored(one_line(error)) from error
        return answer.result()

    def close(self, timeout: float = 10.0) -> None:
        """Store what is waiting, then stop the writer."""
        self.commits.close(timeout)

    def _commit(self, batch: list[Delivery]) -> list[tuple[_Result, int]]:
        results = [(_Result.STALE, 0)] * len(batch)
        with self._sessions.begin() as session:
            current = store.sources_by_id(session, {d.checked.source.id for d in batch})
            fresh = [(i, d) for i, d in enumerate(batch) if current.get(d.checked.source.id) == d.checked.source]
            kept = store.record_deliveries(
                session, [(d.checked.source, d.checked.delivery, d.checked.events, d.now) for _, d in fresh]
            )
        for (i, _), added in zip(fresh, kept, strict=True):
            results[i] = (_Result.DUPLICATE, 0) if added is None else (_Result.STORED, added)
        return results


def _maybe_one_bad_row(exc: Exception) -> bool:
    # An outage fails every delivery alike: storing them one by one would only take longer to fail.
    return not is_unavailable(exc)


class Ingest:
    """``receive`` for the web process: the cache, the checks in the caller's thread, the writer."""

    def __init__(self, sessions: SessionFactory, ttl: float = SOURCE_TTL, patience: float = PATIENCE) -> None:
        self.sources = SourceCache(sessions, ttl)
        self.writer = DeliveryWriter(sessions, patience)

    def receive(self, incoming: Incoming, now: datetime) -> Receipt:
        """Check, normalise and store one delivery; nothing is stored unless the outcome is STORED.

        Raises:
            NotStored: the database did not take it in time (the sender may try again).
        """
        if signals.source_kind(incoming.kind) is None:
            return Receipt(Outcome.UNKNOWN_SOURCE, f"no source kind {incoming.kind!r}")
        source, fresh = self.sources.get(incoming.source_id)
        for _ in range(3):  # the cached copy, then fresh copies while the source changes under us
            answer = signals.check(source, incoming, now)
            if isinstance(answer, Receipt):
                if not fresh and answer.outcome in (Outcome.UNAUTHORIZED, Outcome.UNKNOWN_SOURCE):
                    source, fresh = self.sources.refresh(incoming.source_id), True  # a rotated secret, a new kind
                    continue
                if answer.outcome is Outcome.UNAUTHORIZED:
                    # The source id only: never the secret, the token or the signature.
                    log.warning("signals: refused a delivery to source %s: %s", incoming.source_id, answer.detail)
                elif answer.outcome is Outcome.INVALID:
                    # One line, whatever the body: it is the sender's to fix, not an error of ours.
                    log.warning("signals: an invalid delivery to source %s: %s", incoming.source_id, answer.detail)
                return answer
            result, added = self.writer.store(answer, now)
            if result is _Result.STALE:
                source, fresh = self.sources.refresh(incoming.source_id), True
                continue
            return signals.stored(answer, added) if result is _Result.STORED else signals.duplicate(answer)
        raise NotStored(f"source {incoming.source_id} kept changing while a delivery to it was stored")

    def close(self) -> None:
        self.writer.close()
