"""Is the deployment well? What /healthz and `compass status` report, from the database alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.db import beats, migrate, pending_work
from bot.db.availability import one_line
from bot.db.beats import Beater
from bot.db.session import SessionFactory

LIVE_WINDOW = timedelta(seconds=30)  # a worker that beat within this is counted live
STUCK_AFTER = timedelta(seconds=30)  # work older than this with no live worker is an outage
WORKER, SCHEDULER = "worker", "scheduler"


@dataclass(frozen=True)
class Health:
    checked_at: datetime
    reachable: bool
    reason: str = ""  # why the database could not be read
    schema: str | None = None  # the revision the database is at
    needed: str = ""  # the revision this release needs
    live_workers: int = 0
    waiting: int = 0
    oldest_queued_at: datetime | None = None
    scheduler_ran_at: datetime | None = None
    problems: list[str] = field(default_factory=list)  # each one makes /healthz answer 503

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def oldest_wait(self) -> timedelta | None:
        return None if self.oldest_queued_at is None else self.checked_at - self.oldest_queued_at

    def as_dict(self) -> dict[str, Any]:
        wait = self.oldest_wait
        return {
            "ok": self.ok,
            "problems": self.problems,
            "checked_at": self.checked_at.isoformat(),
            "database": {"reachable": self.reachable, "reason": self.reason or None},
            "schema": {"current": self.schema, "needed": self.needed},
            "workers": {"live": self.live_workers, "window_seconds": int(LIVE_WINDOW.total_seconds())},
            "queue": {"waiting": self.waiting, "oldest_seconds": None if wait is None else round(wait.total_seconds())},
            "scheduler": {"last_ran_at": self.scheduler_ran_at.isoformat() if self.scheduler_ran_at else None},
        }


def check_health(sessions: SessionFactory, now: datetime) -> Health:
    needed = migrate.head_revision()
    try:
        with sessions() as session:
            schema = migrate.current_revision(session.connection())
            if schema != needed:
                problem = (
                    f"database is at revision {schema or 'none'}; this release needs {needed}: run `compass db upgrade`"
                )
                return Health(now, True, schema=schema, needed=needed, problems=[problem])
            waiting, oldest = pending_work.backlog(session)
            live = beats.live_count(session, WORKER, since=now - LIVE_WINDOW)
            ran = beats.last_beat(session, SCHEDULER)
    except Exception as exc:  # whatever the driver raises, the answer is "cannot read it"
        reason = one_line(exc)
        return Health(now, False, reason=reason, needed=needed, problems=[f"database unreachable: {reason}"])
    problems = []
    if waiting and oldest is not None and now - oldest > STUCK_AFTER and live == 0:
        problems.append(
            f"{waiting} request(s) waiting for {(now - oldest).total_seconds():.0f} s and no worker beat in "
            f"the last {LIVE_WINDOW.total_seconds():.0f} s: start `compass worker`"
        )
    return Health(now, True, "", schema, needed, live, waiting, oldest, ran, problems)


def record_beat(sessions: SessionFactory, who: Beater, now: datetime) -> None:
    """A process other than a worker says it is alive (the scheduler, after each tick)."""
    with sessions.begin() as session:
        beats.beat(session, who, now)


def describe(health: Health) -> list[str]:
    """The report as lines for an operator: the verdict first, then one line per part."""
    lines = ["ok" if health.ok else "unhealthy: " + "; ".join(health.problems)]
    if not health.reachable:
        lines.append(f"database: unreachable ({health.reason})")
        return lines
    lines.append(f"database: reachable, schema {health.schema or 'none'} (this release needs {health.needed})")
    lines.append(f"workers: {health.live_workers} live (beat in the last {LIVE_WINDOW.total_seconds():.0f} s)")
    wait = health.oldest_wait
    lines.append(f"queue: {health.waiting} waiting, oldest {0 if wait is None else wait.total_seconds():.0f} s")
    ran = health.scheduler_ran_at
    if ran is None:
        lines.append("scheduler: has not run yet")
    else:
        minutes = (health.checked_at - ran).total_seconds() / 60
        lines.append(f"scheduler: last ran {ran.strftime('%Y-%m-%d %H:%M:%S')} UTC ({minutes:.0f} min ago)")
    return lines
