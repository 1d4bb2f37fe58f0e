"""The worker: does what acknowledged requests asked for, from the pending-work queue.

It knows kinds of work and the handlers registered for them, nothing about where the
requests came from. Several workers may run against one database; each row is leased
to one of them. Leases are short and renewed by a heartbeat thread, so the work of a
worker that dies (SIGKILL, a lost machine) is free again within ``LEASE`` and done by
whichever worker is up next; the handlers make a repeat harmless (a repeated answer is
recorded once). The same heartbeat keeps the worker's row in ``process_beats`` fresh,
which is how /healthz counts live workers.
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

from bot.db.availability import Availability, is_unavailable
from bot.db.beats import Beater
from bot.db.pending_work import Leased
from bot.queue.store import QueueStore

log = logging.getLogger(__name__)

# A dead worker's requests wait at most this long for another worker. Short, because a
# person's later requests queue behind the dead lease; renewed every HEARTBEAT while the
# job runs, however long it takes, so a slow job is never taken twice.
LEASE = timedelta(seconds=6)
HEARTBEAT = timedelta(seconds=1.5)
MAX_ATTEMPTS = 5  # leases of one row before it is given up: a job that keeps killing its worker
UNKNOWN_KIND_WAIT = timedelta(seconds=30)  # a kind from a newer release waits this long for a newer worker
ROLE = "worker"

Handler = Callable[[dict[str, Any]], None]  # gets the queued request body
FailureReporter = Callable[[Exception, dict[str, Any]], None]  # tells the person a request failed


class Later(Exception):  # noqa: N818 - a control signal, not an error
    """Raised by a handler: the job is not done yet. Its row stays where it is in the queue (its owner's
    later work keeps waiting behind it), becomes ``kind`` with ``payload`` (what is left to do), and is
    leased again from ``until``."""

    def __init__(self, until: datetime, kind: str, payload: dict[str, Any]) -> None:
        super().__init__(f"{kind} deferred until {until.isoformat()}")
        self.until = until
        self.kind = kind
        self.payload = payload


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
        self._done: list[Leased] = []  # finished jobs whose rows go with the next lease's transaction
        self._slots = threading.Condition()
        self.database = Availability("worker")
        self.beater = Beater.this_process(ROLE, self.clock())

    def run(self, stop: threading.Event) -> None:
        """Lease and run queued work until ``stop`` is set, then finish what is in hand."""
        drained = threading.Event()
        beating = threading.Thread(target=self._beat_until, args=(drained,), name="compass-heartbeat", daemon=True)
        beating.start()
        try:
            with ThreadPoolExecutor(self.settings.threads, thread_name_prefix="compass-worker") as pool:
                self._lease_until(stop, pool)
                with self._slots:
                    while self._in_hand:  # draining: the heartbeat keeps the last jobs' leases alive
                        self._slots.wait(0.5)
                self._finish_done()
        finally:
            drained.set()
            beating.join()
            try:
                self.store.stop_beating(self.beater)
            except Exception as exc:  # the row goes stale and stops counting as a live worker
                log.warning("could not remove this worker's beat: %s", exc)

    def _lease_until(self, stop: threading.Event, pool: ThreadPoolExecutor) -> None:
        while not stop.is_set():
            self._housekeeping()
            with self._slots:
                free = self.settings.threads - len(self._in_hand) - len(self._done)
                if free <= 0 and not self._done:
                    self._slots.wait(0.5)
                    continue
                done, self._done = self._done, []
            try:
                # The rows of the jobs finished since the last lease go in the same transaction: one
                # write instead of one per job (SQLite has one writer at a time), and the owner's next
                # request is free at once.
                kept, items = self.store.finish_and_lease(done, self.clock(), LEASE, max(free, 0))
            except Exception as exc:
                with self._slots:
                    self._done = done + self._done  # tried again with the next lease
                self.database.failed(exc)
                stop.wait(0.5)
                continue
            self.database.succeeded()
            if kept < len(done):
                log.warning("%d finished job(s) had been taken over by another worker", len(done) - kept)
            if items:
                with self._slots:
                    self._in_hand.update((item.id, item) for item in items)
                for item in items:
                    pool.submit(self._run_in_slot, item)
                continue
            with self._slots:  # nothing to do: until a job finishes, or a while (new work comes from elsewhere)
                if not self._done:
                    self._slots.wait(self.settings.poll_seconds)

    def _finish_done(self) -> None:
        with self._slots:
            done, self._done = self._done, []
        if done:
            try:
                self.store.finish_and_lease(done, self.clock(), LEASE, 0)
            except Exception as exc:  # their leases run out and they are done again
                self.database.failed(exc)

    def _beat_until(self, drained: threading.Event) -> None:
        # Due by the injected clock (tests move it), looked at often by the real one.
        beats = Every(HEARTBEAT)
        while True:
            if beats.due(self.clock()):
                self.beat()
            if drained.wait(0.05):
                return

    def beat(self) -> None:
        """Say this worker is alive and renew the leases of the jobs in hand."""
        with self._slots:
            items = [*self._in_hand.values(), *self._done]
        try:
            kept = self.store.beat(self.beater, self.clock(), items, LEASE)
        except Exception as exc:
            self.database.failed(exc)
            return
        if kept < len(items):
            log.warning("%d job(s) in hand were taken over by another worker", len(items) - kept)

    def _housekeeping(self) -> None:
        now = self.clock()
        for chore, schedule in self._chores:
            if not schedule.due(now):
                continue
            try:
                result = chore.run(now)
                if result:
                    log.info("%s: %s", chore.name, result)
            except Exception as exc:
                if is_unavailable(exc):
                    self.database.failed(exc)
                else:
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

    def _defer(self, item: Leased, later: Later) -> None:
        with self._slots:  # out of the heartbeat's hands: the row's lease is about to change
            self._in_hand.pop(item.id, None)
        try:
            kept = self.store.defer(item, later.until, later.kind, json.dumps(later.payload, separators=(",", ":")))
        except Exception as exc:  # the lease runs out and the job is done again from the start
            self.database.failed(exc)
            return
        if not kept:
            log.warning("queued %s #%s was taken over by another worker before it was deferred", item.kind, item.id)

    def run_one(self, item: Leased) -> None:
        """Do one queued request; errors go to the failure reporter, then the row is done.

        A database that is away is not the person's problem: the row stays, its lease runs
        out, and the request is done again once the database is back.
        """
        body: dict[str, Any] = {}
        try:
            body = json.loads(item.payload)
            if item.attempts > MAX_ATTEMPTS:
                raise GaveUp(f"queued {item.kind} #{item.id} was started {item.attempts - 1} times and never finished")
            handler = self.handlers.get(item.kind)
            if handler is None:
                # Queued by a newer release during a rolling deploy: leave it for a worker that knows it.
                log.warning("queued %s #%s is not a kind this worker knows; leaving it", item.kind, item.id)
                self.store.postpone(item, self.clock() + UNKNOWN_KIND_WAIT)
                return
            handler(body)
        except Later as later:
            self._defer(item, later)
            return
        except Exception as exc:
            if is_unavailable(exc):
                self.database.failed(exc)
                return
            try:
                self.report_failure(exc, body)
            except Exception:
                log.exception("could not report the failure of queued %s #%s", item.kind, item.id)
        with self._slots:  # its row is deleted with the next lease (until then its lease stays renewed)
            self._done.append(item)
            self._slots.notify_all()
