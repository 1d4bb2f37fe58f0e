"""Group commit: one thread writes whatever callers handed over meanwhile, as one batch.

A transaction per item costs a round trip and a commit each, and under a burst the callers'
threads queue for connections. Here a caller only hands its item over; one writer thread takes
everything that arrived meanwhile (up to ``max_batch``) and writes it with one call of ``write``
(one transaction). Two ways to hand an item over:

- ``put``: fire and forget (the outbox's acknowledged requests); an item whose write failed for
  good goes to ``on_lost``, because nobody else will hear of it.
- ``submit``: a Future with the item's own result (a webhook's "stored" or "already stored").
  A caller that stops waiting cancels it; the writer skips a cancelled item, so nothing of an
  item whose caller has given up is written.

How a batch is tried is the user's policy: ``attempts`` runs each write (once by default; the
outbox retries through an outage), and ``split_when`` says whether a failed batch may have failed
because of one item only, in which case it is written again one item per call so that the bad
item fails alone.

``settle`` (fire-and-forget users only): the writer waits until no item has arrived for that long
(at most ``settle_max``) before it writes. A burst of acks then becomes one write after the
burst instead of writes between its acks, whose Python work would hold the interpreter while
later acks of the burst wait (bench/ack_latency.py). The cost is that much later a write.

The thread starts on first use, in the process that serves (gunicorn forks after building the
app). ``close`` writes what is queued and stops it; items handed over after that are written in
the caller's thread. Nothing here knows what is written: the users bring the transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from bot.db.availability import one_line

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Write = Callable[[list[T]], Sequence[R]]  # a batch's items → one result per item, in order
Attempts = Callable[[Write[T, R], list[T]], Sequence[R]]  # runs a write, retrying as it sees fit
Lost = Callable[[Exception, list[T]], None]
_Slot = tuple[T, Future[R] | None]  # no Future: fire and forget


def once(write: Write[T, R], batch: list[T]) -> Sequence[R]:
    return write(batch)


def log_lost(error: Exception, items: list[T]) -> None:
    log.error("giving up on %d item(s) nobody waits for: %s", len(items), one_line(error))


class GroupCommit(Generic[T, R]):
    """One writer thread batching what ``put`` and ``submit`` hand over; see the module's docstring."""

    def __init__(
        self,
        write: Write[T, R],
        *,
        name: str,
        max_batch: int,
        attempts: Attempts[T, R] = once,
        split_when: Callable[[Exception], bool] | None = None,
        on_lost: Lost[T] = log_lost,
        settle: float = 0.0,
        settle_max: float = 0.0,
    ) -> None:
        self._write_function = write
        self._settle = settle
        self._settle_max = settle_max
        self._name = name
        self._max_batch = max_batch
        self._attempts = attempts
        self._split_when = split_when
        self._on_lost = on_lost
        self._queue: queue.SimpleQueue[_Slot[T, R] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def put(self, item: T) -> None:
        """Hand ``item`` over without waiting for it to be written."""
        self._hand_over((item, None))

    def submit(self, item: T) -> Future[R]:
        """Hand ``item`` over; the Future gets its result or the write's error. Cancel it to give up."""
        future: Future[R] = Future()
        self._hand_over((item, future))
        return future

    def write_batch(self, items: Sequence[T]) -> list[Future[R]]:
        """Write ``items`` now, in the caller's thread, as the writer writes one batch (same policies)."""
        futures: list[Future[R]] = [Future() for _ in items]
        self._write(list(zip(items, futures, strict=True)))
        return futures

    def close(self, timeout: float = 10.0) -> None:
        """Write everything handed over so far, then stop the writer thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is None:
            return
        thread.join(timeout)
        if thread.is_alive():
            # The process is about to exit: whatever the writer has not reached is lost, so say so.
            left, _ = self._take_waiting()
            log.error("%s writer still busy after %.0f s; %d item(s) not written", self._name, timeout, len(left))
            taken = self._still_wanted(left)
            if taken:
                self._fail(TimeoutError(f"not written within shutdown's {timeout:.0f} s"), taken)

    def _hand_over(self, slot: _Slot[T, R]) -> None:
        with self._lock:
            if self._closed:  # shutting down: no writer any more, so write it here
                self._write([slot])
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"compass-{self._name}", daemon=True)
                self._thread.start()
            # Inside the lock, so that no item can land behind close()'s end marker.
            self._queue.put(slot)

    def _take_waiting(self, limit: int | None = None) -> tuple[list[_Slot[T, R]], bool]:
        """Slots already queued, up to ``limit``, and whether close()'s end marker was among them."""
        taken: list[_Slot[T, R]] = []
        while limit is None or len(taken) < limit:
            try:
                slot = self._queue.get_nowait()
            except queue.Empty:
                break
            if slot is None:
                return taken, True
            taken.append(slot)
        return taken, False

    def _run(self) -> None:
        while True:
            first = self._queue.get()  # wait for work, then take whatever else arrived meanwhile
            if first is None:
                return
            batch, stopping = self._gather(first)
            self._write(batch)
            if stopping:
                return

    def _gather(self, first: _Slot[T, R]) -> tuple[list[_Slot[T, R]], bool]:
        """``first`` and what else arrives until the batch is full or the burst has settled."""
        batch = [first]
        deadline = time.monotonic() + self._settle_max
        while len(batch) < self._max_batch:
            wait = min(self._settle, deadline - time.monotonic())
            try:
                slot = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if slot is None:
                return batch, True
            batch.append(slot)
        return batch, False

    @staticmethod
    def _still_wanted(slots: list[_Slot[T, R]]) -> list[_Slot[T, R]]:
        # A Future moves to "running" here unless its caller cancelled it first: from then on the
        # caller can no longer cancel, so an item is either written for its caller or not at all.
        return [(item, f) for item, f in slots if f is None or f.set_running_or_notify_cancel()]

    def _write(self, slots: list[_Slot[T, R]]) -> None:
        taken = self._still_wanted(slots)
        if taken:
            self._commit(taken)

    def _commit(self, slots: list[_Slot[T, R]]) -> None:
        try:
            results = self._attempts(self._write_function, [item for item, _ in slots])
            answered = list(zip(slots, results, strict=True))
        except Exception as exc:
            if len(slots) > 1 and self._split_when is not None and self._split_when(exc):
                log.warning("%s: a batch of %d failed, writing each on its own: %s", self._name, len(slots), exc)
                for slot in slots:
                    self._commit([slot])
                return
            self._fail(exc, slots)
            return
        for (_, future), result in answered:
            if future is not None:
                future.set_result(result)

    def _fail(self, error: Exception, slots: list[_Slot[T, R]]) -> None:
        waited = [future for _, future in slots if future is not None]
        if waited:
            log.warning("%s: could not write %d item(s): %s", self._name, len(waited), one_line(error))
            for future in waited:
                future.set_exception(error)
        lost = [item for item, future in slots if future is None]
        if lost:
            self._on_lost(error, lost)
