"""The web process watches that someone does the work it queues.

On a host where the worker process was never scaled up, people get "Check your DMs" and
then nothing; /healthz says so, but only to whoever asks. This thread looks once a
minute and logs one warning each time it finds work waiting with no live worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from bot.app import health
from bot.db.session import SessionFactory

log = logging.getLogger(__name__)

EVERY_SECONDS = 60.0


class Watchdog:
    def __init__(
        self, sessions: SessionFactory, clock: Callable[[], datetime], every_seconds: float = EVERY_SECONDS
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._every = every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Watchdog:
        self._thread = threading.Thread(target=self._run, name="compass-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.look()

    def look(self) -> health.Health:
        report = health.check_health(self._sessions, self._clock())
        # An unreachable database is logged by the outbox, once when it goes and once when it is back.
        if report.reachable and not report.ok:
            log.warning("unhealthy: %s", "; ".join(report.problems))
        return report
