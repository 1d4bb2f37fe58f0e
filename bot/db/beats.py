"""Process beats: each long-running process keeps one row fresh while it runs."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from bot.db.models import ProcessBeat
from bot.db.sql import rowcount


@dataclass(frozen=True)
class Beater:
    """Who beats: one row per process start."""

    id: str
    role: str
    host: str
    pid: int
    started_at: datetime

    @classmethod
    def this_process(cls, role: str, started_at: datetime) -> Beater:
        host, pid = socket.gethostname(), os.getpid()
        return cls(f"{role}:{host}:{pid}:{secrets.token_hex(3)}", role, host, pid, started_at)


def beat(session: Session, who: Beater, now: datetime) -> None:
    """Say ``who`` is alive at ``now`` (only the process itself writes its row, so no upsert race)."""
    moved = session.execute(
        update(ProcessBeat)
        .where(ProcessBeat.id == who.id)
        .values(beat_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) == 0:
        session.execute(
            insert(ProcessBeat).values(
                id=who.id, role=who.role, host=who.host, pid=who.pid, started_at=who.started_at, beat_at=now
            )
        )


def stop(session: Session, beater_id: str) -> None:
    session.execute(delete(ProcessBeat).where(ProcessBeat.id == beater_id))


def forget_before(session: Session, before: datetime) -> int:
    """Drop the rows of processes that stopped beating long ago (killed ones never delete theirs)."""
    return rowcount(session.execute(delete(ProcessBeat).where(ProcessBeat.beat_at < before)))


def live_count(session: Session, role: str, since: datetime) -> int:
    found = session.scalar(select(func.count()).where(ProcessBeat.role == role, ProcessBeat.beat_at >= since))
    return int(found or 0)


def last_beat(session: Session, role: str) -> datetime | None:
    """When any process of ``role`` last beat (None if none ever did, or all were forgotten)."""
    found: datetime | None = session.scalar(select(func.max(ProcessBeat.beat_at)).where(ProcessBeat.role == role))
    return found
