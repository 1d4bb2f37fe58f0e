"""Acknowledged requests on their way to the pending-work table, written in batches by one thread.

If each listener inserted its own row after the ack, a burst of requests (thirty people
typing `/compass start` at once) would fill the web server's listener threads with inserts, and
later acks would wait for a free thread. Here a listener only appends to memory; one
writer thread commits everything that arrived meanwhile in a single transaction (a group
commit, bot/db/group_commit.py, fire and forget: nobody waits for the row).

A request lives only in memory between its ack and that commit (milliseconds). A clean
shutdown writes what is left; a crash in that window loses the request, as Slack would
lose any request the app had not answered in time. While the database is away (a restart,
a fail-over) the writer keeps trying for ``OUTAGE_PATIENCE`` and the acks go on meanwhile;
any other error is tried a few times only, then each person is told.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tenacity import RetryCallState, Retrying, wait_chain, wait_fixed

from bot.db.availability import Availability, is_unavailable, one_line
from bot.db.group_commit import GroupCommit
from bot.queue.store import QueueStore

log = logging.getLogger(__name__)

MAX_BATCH = 500
RETRY_DELAYS = (0.1, 0.3, 1.0, 2.0)  # seconds between attempts; the last one repeats through an outage
# A burst of acks is written once it has settled (bot/db/group_commit.py): no new request for
# SETTLE seconds, or SETTLE_MAX after the first, so a request waits at most that much longer.
SETTLE = 0.004
SETTLE_MAX = 0.03
OUTAGE_PATIENCE = 60.0  # seconds of an unreachable database before the requests waiting on it are given up

Entry = tuple[str, str, dict[str, Any]]  # kind, owner, request body
LostHandler = Callable[[Exception, list[Entry]], None]


class Outbox:
    def __init__(
        self,
        store: QueueStore,
        clock: Callable[[], datetime],
        on_lost: LostHandler,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        outage_patience: float = OUTAGE_PATIENCE,
    ) -> None:
        self._store = store
        self._max_attempts = len(retry_delays) + 1
        self._patience = outage_patience
        self.database = Availability("web")
        self._clock = clock
        self._on_lost = on_lost
        attempts = Retrying(
            stop=self._give_up,
            wait=wait_chain(*(wait_fixed(d) for d in retry_delays)),
            before_sleep=self._warn,
            reraise=True,
        )
        self._writer: GroupCommit[Entry, None] = GroupCommit(
            self._append,
            name="outbox",
            max_batch=MAX_BATCH,
            attempts=attempts,
            on_lost=self._lost,
            settle=SETTLE,
            settle_max=SETTLE_MAX,
        )

    def put(self, kind: str, owner: str, body: dict[str, Any]) -> None:
        """Queue a request for the worker without waiting for the database."""
        self._writer.put((kind, owner, body))

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued so far, then stop the writer."""
        self._writer.close(timeout)

    def _append(self, batch: list[Entry]) -> list[None]:
        rows = [(kind, owner, json.dumps(body, separators=(",", ":"))) for kind, owner, body in batch]
        self._store.append(rows, self._clock())
        self.database.succeeded()
        return [None] * len(batch)

    def _give_up(self, state: RetryCallState) -> bool:
        assert state.outcome is not None
        exc = state.outcome.exception()
        if exc is not None and is_unavailable(exc):
            return (state.seconds_since_start or 0.0) >= self._patience
        return state.attempt_number >= self._max_attempts

    def _warn(self, state: RetryCallState) -> None:
        assert state.outcome is not None and state.next_action is not None  # set before every sleep
        batch, delay, exc = state.args[0], state.next_action.sleep, state.outcome.exception()
        assert exc is not None
        if is_unavailable(exc):
            self.database.failed(exc)  # one line for the whole outage, not one per attempt
            return
        log.warning("could not queue %d request(s), retrying in %.1f s: %s", len(batch), delay, exc)

    def _lost(self, exc: Exception, batch: list[Entry]) -> None:
        log.error("giving up on %d acknowledged request(s): %s", len(batch), one_line(exc))
        self._on_lost(exc, batch)
