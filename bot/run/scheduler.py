"""APScheduler set-up: one periodic tick that runs whatever the database says is due.

Jobs live in code and state in the database (a memory job store), so nothing is
pickled and a restart needs no migration of scheduler state. The ``sends`` ledger,
not the scheduler, is what guarantees a message goes out once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from bot.app import rights
from bot.db.session import SessionFactory
from bot.domain.rights import Deleted, Retention, deleted_summary
from bot.queue.worker import Every

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
        name="end idle team sessions; send due digests, invitations and reminders",
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


RETENTION_EVERY = timedelta(days=1)


def retention_step(sessions: SessionFactory, days: int) -> Callable[[datetime], Deleted | None]:
    """The tick's daily housekeeping: assessments past retention (COMPASS_RETENTION_DAYS after
    completion; unfinished ones past their expiry) are deleted in every workspace.

    A step of the scheduler's tick rather than a worker's Chore: there is exactly one scheduler per
    deployment but any number of workers, and a deletion across every workspace needs doing once
    a day, not once per worker. Due at the first tick after a start, then a day after the last run;
    a run the process did not live to do is done by the next start's first tick. None when not due.
    """
    due = Every(RETENTION_EVERY)
    retention = Retention(days)

    def run(now: datetime) -> Deleted | None:
        if not due.due(now):
            return None
        deleted = rights.purge_expired(sessions, retention, now)
        if not deleted.nothing:
            log.info("retention (%d days): deleted %s", days, deleted_summary(deleted))
        return deleted

    return run
