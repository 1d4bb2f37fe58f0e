"""The sends ledger: every scheduled message (digest, invitation, reminder, notice) is claimed here
under a unique key before it goes out, so a second scheduler, a retry or a restart stays silent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.db.models import Send
from bot.db.sql import insert_or_skip
from bot.domain.schedule import SendKey


@dataclass(frozen=True)
class SentDigest:
    period: str
    payload: dict[str, Any] | None  # the digest's snapshot, for the change shown next time


def claim_send(session: Session, key: SendKey, now: datetime, lease: timedelta, max_attempts: int) -> int | None:
    """Claim the right to send one message; None when someone else has it or it went out.

    A claim older than ``lease`` belongs to a scheduler that died mid-send and is taken
    over; a failed send is retried until ``max_attempts``.
    """
    stmt = (
        insert_or_skip(session, Send, ["kind", "workspace_id", "target", "period"])
        .values(
            kind=key.kind,
            workspace_id=key.workspace_id,
            target=key.target,
            period=key.period,
            status="claimed",
            attempts=1,
            claimed_at=now,
        )
        .returning(Send.id)
    )
    new_id = session.execute(stmt).scalar()
    if new_id is not None:
        return int(new_id)
    takeover = session.execute(
        update(Send)
        .where(
            Send.kind == key.kind,
            Send.workspace_id == key.workspace_id,
            Send.target == key.target,
            Send.period == key.period,
            Send.attempts < max_attempts,
            or_(
                and_(Send.status == "claimed", Send.claimed_at < now - lease),
                Send.status == "failed",
            ),
        )
        .values(status="claimed", claimed_at=now, attempts=Send.attempts + 1)
        .returning(Send.id)
    ).scalar()
    return None if takeover is None else int(takeover)


def finish_send(
    session: Session,
    send_id: int,
    status: str,
    now: datetime,
    *,
    channel_id: str | None = None,
    ts: str | None = None,
    error: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    session.execute(
        update(Send)
        .where(Send.id == send_id)
        .values(
            status=status,
            sent_at=now if status == "sent" else None,
            channel_id=channel_id,
            message_ts=ts,
            error=error,
            payload_json=None if payload is None else json.dumps(payload),
        )
    )


def reminder_periods(session: Session, ws_id: int) -> set[str]:
    """The periods ("assessment:number") of every reminder claimed or sent in the workspace."""
    return set(
        session.scalars(
            select(Send.period).where(
                Send.workspace_id == ws_id, Send.kind == "reminder", Send.status.in_(("claimed", "sent"))
            )
        )
    )


def last_digest(session: Session, ws_id: int, channel_id: str) -> SentDigest | None:
    row = session.scalars(
        select(Send)
        .where(Send.workspace_id == ws_id, Send.kind == "digest", Send.target == channel_id, Send.status == "sent")
        .order_by(Send.sent_at.desc(), Send.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return SentDigest(row.period, json.loads(row.payload_json) if row.payload_json else None)


@dataclass(frozen=True)
class PastDigest:
    period: str
    sent_at: datetime
    payload: dict[str, Any] | None  # the digest's snapshot; None when it stored none


def recent_digests(session: Session, ws_id: int, channel_id: str, limit: int, before_period: str) -> list[PastDigest]:
    """The channel's last ``limit`` sent digests other than the one for ``before_period``, oldest
    first: one statement, however many went out."""
    rows = session.execute(
        select(Send.period, Send.sent_at, Send.payload_json)
        .where(
            Send.workspace_id == ws_id,
            Send.kind == "digest",
            Send.target == channel_id,
            Send.status == "sent",
            Send.period != before_period,
            Send.sent_at.is_not(None),
        )
        .order_by(Send.sent_at.desc(), Send.id.desc())
        .limit(limit)
    ).all()
    return [
        PastDigest(period, sent_at, json.loads(payload) if payload else None)
        for period, sent_at, payload in reversed(rows)
        if sent_at is not None
    ]
