"""APScheduler set-up: one periodic tick that runs whatever the database says is due.

Jobs live in code and state in the database (a memory job store), so nothing is
pickled and a restart needs no migration of scheduler state. The ``sends`` ledger,
not the scheduler, is what guarantees a message goes out once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

TICK_JOB_ID = "compass.run_due"


def build_scheduler(tick: Callable[[], None], minutes: int) -> BaseScheduler:
    """A scheduler with one tick job, not started.

    coalesce folds the ticks missed during downtime into one run, and a grace time
    of a whole interval makes that run happen instead of being skipped as too late.
    """
    scheduler: BaseScheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        trigger="interval",
        minutes=minutes,
        id=TICK_JOB_ID,
        name="send due digests, invitations and reminders",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=minutes * 60,
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def safe(tick: Callable[[], object]) -> Callable[[], None]:
    """Log a failed tick and keep the scheduler alive for the next one."""

    def run() -> None:
        try:
            result = tick()
            log.info("scheduler tick: %s", result)
        except Exception:
            log.exception("scheduler tick failed; the next tick retries")

    return run
