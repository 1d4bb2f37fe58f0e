"""The worker: does what acknowledged requests asked for, from the pending-work queue.

It knows kinds of work and the handlers registered for them, nothing about where the
requests came from. Several workers may run against one database; each row is leased
to one of them. A worker that dies mid-job loses its lease after ``LEASE`` and the row
is done again, which the handlers make harmless (a repeated answer is recorded once).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.db.pending_work import Leased
from bot.queue.store import QueueStore

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
HEARTBEAT = LEASE / 4  # leases of work in hand are pushed forward this often, however long a job takes
MAX_ATTEMPTS = 3  # leases of one row before it is given up: a job that keeps killing its worker

Handler = Callable[[dict[str, Any]], None]  # gets the queued request body
FailureReporter = Callable[[Exception, dict[str, Any]], None]  # tells the person a request failed


class GaveUp(RuntimeError):
    """A queued request was leased MAX_ATTEMPTS times without finishing."""


@dataclass(frozen=True)
class WorkerSettings:
    threads: int = 8
    poll_seconds: float = 0.05  # how long an idle worker waits before looking at the queue again


@dataclass(frozen=True)
class Chore:
    """Periodic housekeeping a worker does between jobs (e.g. forgetting old event ids)."""

    name: str
    every: timedelta
    run: Callable[[datetime], object]


class Every:
    """Says when something periodic is due again, by the injected clock (due at once the first time)."""

    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._next: datetime | None = None

    def due(self, now: datetime) -> bool:
        if self._next is not None and now < self._next:
            return False
        self._next = now + self.interval
        return True


@dataclass(frozen=True)
class WorkerParts:
    """What a worker is built from: its queue, the time, its handlers and how failures are reported."""

    store: QueueStore
    clock: Callable[[], datetime]
    handlers: Mapping[str, Handler]
    report_failure: FailureReporter
    chores: Sequence[Chore] = ()


class Worker:
    def __init__(self, parts: WorkerParts, settings: WorkerSettings) -> None:
        self.store = parts.store
        self.clock = parts.clock
        # Rows carry the kind as text; a kind this release does not know finds nothing here.
        self.handlers = dict(parts.handlers)
        self.report_failure = parts.report_failure
        self.settings = settings
        self._chores = [(chore, Every(chore.every)) for chore in parts.chores]
        self._in_hand: dict[int, Leased] = {}
        self._slots = threading.Condition()
        self._heartbeats = Every(HEARTBEAT)

    def run(self, stop: threading.Event) -> None:
        """Lease and run queued work until ``stop`` is set, then finish what is in hand."""
        with ThreadPoolExecutor(self.settings.threads, thread_name_prefix="compass-worker") as pool:
            while not stop.is_set():
                self._heartbeat()
                self._housekeeping()
                with self._slots:
                    free = self.settings.threads - len(self._in_hand)
                    if free == 0:
                        self._slots.wait(0.5)
                        continue
                try:
                    items = self.store.lease(self.clock(), LEASE, free)
                except Exception:
                    log.exception("could not read the work queue; trying again in a second")
                    stop.wait(1.0)
                    continue
                if not items:
                    stop.wait(self.settings.poll_seconds)
                    continue
                with self._slots:
                    self._in_hand.update((item.id, item) for item in items)
                for item in items:
                    pool.submit(self._run_in_slot, item)
            while self._in_hand_now():  # draining: keep the leases of the last jobs alive too
                self._heartbeat()
                with self._slots:
                    self._slots.wait(0.5)

    def _in_hand_now(self) -> int:
        with self._slots:
            return len(self._in_hand)

    def _heartbeat(self) -> None:
        now = self.clock()
        if not self._heartbeats.due(now):
            return
        with self._slots:
            items = list(self._in_hand.values())
        if not items:
            return
        try:
            self.store.extend(items, now + LEASE)
        except Exception:
            log.exception("could not extend the leases of %d job(s) in hand", len(items))

    def _housekeeping(self) -> None:
        now = self.clock()
        for chore, schedule in self._chores:
            if not schedule.due(now):
                continue
            try:
                result = chore.run(now)
                if result:
                    log.info("%s: %s", chore.name, result)
            except Exception:
                log.exception("%s failed; trying again in %s", chore.name, chore.every)

    def _run_in_slot(self, item: Leased) -> None:
        try:
            self.run_one(item)
        except Exception:  # run_one reports and finishes; this is the last line, so nothing vanishes
            log.exception("queued %s #%s failed outside its handler", item.kind, item.id)
        finally:
            with self._slots:
                self._in_hand.pop(item.id, None)
                self._slots.notify()

    def run_one(self, item: Leased) -> None:
        """Do one queued request; errors go to the failure reporter, then the row is done."""
        body: dict[str, Any] = {}
        try:
            body = json.loads(item.payload)
            if item.attempts > MAX_ATTEMPTS:
                raise GaveUp(f"queued {item.kind} #{item.id} was started {item.attempts - 1} times and never finished")
            handler = self.handlers.get(item.kind)
            if handler is None:
                # Queued by a newer release during a rolling deploy: leave it for a worker that knows it
                # (the lease runs out and the row counts one more attempt).
                log.warning("queued %s #%s is not a kind this worker knows; leaving it", item.kind, item.id)
                return
            handler(body)
        except Exception as exc:
            try:
                self.report_failure(exc, body)
            except Exception:
                log.exception("could not report the failure of queued %s #%s", item.kind, item.id)
        try:
            if not self.store.finish(item):
                log.warning("queued %s #%s was taken over by another worker before it finished", item.kind, item.id)
        except Exception:
            # The row stays leased; when the lease runs out it is done again.
            log.exception("could not mark queued %s #%s done", item.kind, item.id)
