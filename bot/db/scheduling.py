"""Queries for digests, invitations and reminders. Aggregation happens in SQL: one query
per digest, whatever the team size."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.db.models import (
    Answer,
    Assessment,
    ChannelMember,
    DigestSubscription,
    DimensionScore,
    Respondent,
    Send,
    Workspace,
)
from bot.db.queries import insert_ignore, insert_or_skip
from bot.domain.digest import DimensionAggregate, QuestionAggregate, TeamAggregate
from bot.domain.flow import Status

CHUNK = 1000  # rows per bulk statement; keeps SQLite under its bound-parameter limit


def workspace_id(session: Session, external_id: str, now: datetime) -> int:
    insert_ignore(session, Workspace, {"external_id": external_id, "created_at": now}, ["external_id"])
    return int(session.scalars(select(Workspace.id).where(Workspace.external_id == external_id)).one())


# -- subscriptions ------------------------------------------------------------------


def subscription(session: Session, ws_id: int, channel_id: str) -> DigestSubscription | None:
    return session.scalars(
        select(DigestSubscription).where(
            DigestSubscription.workspace_id == ws_id, DigestSubscription.channel_id == channel_id
        )
    ).one_or_none()


def subscriptions(session: Session, ws_id: int) -> list[DigestSubscription]:
    return list(
        session.scalars(
            select(DigestSubscription).where(DigestSubscription.workspace_id == ws_id).order_by(DigestSubscription.id)
        )
    )


def save_subscription(
    session: Session, ws_id: int, channel_id: str, cadence: str, user_id: str, now: datetime
) -> DigestSubscription:
    row = subscription(session, ws_id, channel_id)
    if row is None:
        row = DigestSubscription(
            workspace_id=ws_id, channel_id=channel_id, cadence=cadence, created_by=user_id, created_at=now
        )
        session.add(row)
    else:
        row.cadence = cadence
        row.created_by = user_id
        row.paused_reason = None
    session.flush()
    return row


def delete_subscription(session: Session, ws_id: int, channel_id: str) -> bool:
    result = session.execute(
        delete(DigestSubscription).where(
            DigestSubscription.workspace_id == ws_id, DigestSubscription.channel_id == channel_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def replace_members(session: Session, subscription_id: int, user_ids: Sequence[str]) -> None:
    session.execute(delete(ChannelMember).where(ChannelMember.subscription_id == subscription_id))
    rows = [{"subscription_id": subscription_id, "user_id": u} for u in dict.fromkeys(user_ids)]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(ChannelMember), rows[start : start + CHUNK])


def member_count(session: Session, subscription_id: int) -> int:
    return int(session.scalar(select(func.count()).where(ChannelMember.subscription_id == subscription_id)) or 0)


def ensure_respondents(session: Session, ws_id: int, people: dict[str, str | None], now: datetime) -> None:
    """Create respondent rows, with their time zones, for people first seen in Slack."""
    rows = [{"workspace_id": ws_id, "user_id": u, "tz": tz, "created_at": now} for u, tz in people.items()]
    stmt = insert_or_skip(session, Respondent, ["workspace_id", "user_id"])
    for start in range(0, len(rows), CHUNK):
        session.execute(stmt, rows[start : start + CHUNK])


def pause_subscription(session: Session, subscription_id: int, reason: str) -> None:
    session.execute(
        update(DigestSubscription).where(DigestSubscription.id == subscription_id).values(paused_reason=reason)
    )


def update_directory(session: Session, ws_id: int, people: dict[str, tuple[str | None, bool]]) -> None:
    """Store each known person's time zone and whether they are an active human."""
    rows = session.execute(
        select(Respondent.id, Respondent.user_id, Respondent.tz, Respondent.active).where(
            Respondent.workspace_id == ws_id
        )
    ).all()
    changes = []
    for rid, user_id, tz, active in rows:
        if user_id in people:
            new_tz, new_active = people[user_id]
            if (new_tz, new_active) != (tz, active):
                changes.append({"rid": rid, "tz": new_tz, "active": new_active})
    from sqlalchemy import bindparam

    for start in range(0, len(changes), CHUNK):
        session.connection().execute(
            update(Respondent.__table__)  # type: ignore[arg-type]
            .where(Respondent.__table__.c.id == bindparam("rid"))
            .values(tz=bindparam("tz"), active=bindparam("active")),
            changes[start : start + CHUNK],
        )


# -- aggregation ----------------------------------------------------------------------


def _latest_assessments(subscription_id: int, ws_id: int, since: datetime, until: datetime) -> Any:
    """Each current team member's newest completed assessment in [since, until]."""
    ranked = (
        select(
            Assessment.id.label("assessment_id"),
            Assessment.overall_score.label("overall"),
            func.row_number()
            .over(
                partition_by=Assessment.respondent_id, order_by=(Assessment.completed_at.desc(), Assessment.id.desc())
            )
            .label("rank"),
        )
        .join(Respondent, Respondent.id == Assessment.respondent_id)
        .join(
            ChannelMember,
            and_(ChannelMember.user_id == Respondent.user_id, ChannelMember.subscription_id == subscription_id),
        )
        .where(
            Respondent.workspace_id == ws_id,
            Respondent.active.is_(True),
            Assessment.status == Status.COMPLETE.value,
            Assessment.completed_at >= since,
            Assessment.completed_at <= until,
        )
        .subquery()
    )
    return select(ranked.c.assessment_id, ranked.c.overall).where(ranked.c.rank == 1).subquery()


def team_aggregate(
    session: Session, subscription_id: int, ws_id: int, since: datetime, until: datetime
) -> TeamAggregate:
    latest = _latest_assessments(subscription_id, ws_id, since, until)
    respondents, overall = session.execute(select(func.count(), func.avg(latest.c.overall)).select_from(latest)).one()
    level_counts = [func.sum(case((DimensionScore.level == n, 1), else_=0)) for n in (1, 2, 3, 4)]
    dims = session.execute(
        select(
            DimensionScore.dimension_id, func.count(DimensionScore.score), func.avg(DimensionScore.score), *level_counts
        )
        .join(latest, latest.c.assessment_id == DimensionScore.assessment_id)
        .group_by(DimensionScore.dimension_id)
    ).all()
    questions = session.execute(
        select(Answer.question_id, func.count(Answer.level), func.avg(Answer.level))
        .join(latest, latest.c.assessment_id == Answer.assessment_id)
        .where(Answer.level.is_not(None))
        .group_by(Answer.question_id)
    ).all()
    return TeamAggregate(
        respondents=int(respondents or 0),
        overall_mean=None if overall is None else float(overall),
        dimensions=tuple(
            DimensionAggregate(
                dimension_id=d[0],
                respondents=int(d[1] or 0),
                mean=None if d[2] is None else float(d[2]),
                levels=(int(d[3] or 0), int(d[4] or 0), int(d[5] or 0), int(d[6] or 0)),
            )
            for d in dims
        ),
        questions=tuple(QuestionAggregate(q[0], int(q[1]), float(q[2])) for q in questions if q[2] is not None),
    )


# -- invitations and reminders ---------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    user_id: str
    tz: str | None
    reminders_paused: bool
    snoozed_until: datetime | None
    last_completed: datetime | None
    open_assessment: int | None
    open_position: int | None
    open_updated: datetime | None


def candidates(session: Session, ws_id: int, subscription_ids: Sequence[int]) -> list[Candidate]:
    """Everyone who may be invited or reminded: digest-channel members and past respondents.

    One query: the newest completion and any unfinished assessment come from grouped
    subqueries, not from a query per person.
    """
    last_done = (
        select(Assessment.respondent_id, func.max(Assessment.completed_at).label("last_completed"))
        .where(Assessment.status == Status.COMPLETE.value)
        .group_by(Assessment.respondent_id)
        .subquery()
    )
    open_run = (
        select(Assessment.respondent_id, Assessment.id, Assessment.position, Assessment.updated_at)
        .where(Assessment.status == Status.ASKING.value)
        .subquery()
    )
    in_channel = select(ChannelMember.user_id).where(ChannelMember.subscription_id.in_(subscription_ids or [-1]))
    rows = session.execute(
        select(
            Respondent.user_id,
            Respondent.tz,
            Respondent.reminders_paused,
            Respondent.snoozed_until,
            last_done.c.last_completed,
            open_run.c.id,
            open_run.c.position,
            open_run.c.updated_at,
        )
        .outerjoin(last_done, last_done.c.respondent_id == Respondent.id)
        .outerjoin(open_run, open_run.c.respondent_id == Respondent.id)
        .where(
            Respondent.workspace_id == ws_id,
            Respondent.active.is_(True),
            or_(
                Respondent.user_id.in_(in_channel),
                last_done.c.last_completed.is_not(None),
                open_run.c.id.is_not(None),
            ),
        )
        .order_by(Respondent.id)
    ).all()
    return [Candidate(*r[:2], bool(r[2]), *r[3:]) for r in rows]


def sent_counts(session: Session, ws_id: int, kind: str) -> dict[str, int]:
    """How many messages of a kind each target already got (claimed or sent)."""
    rows = session.execute(
        select(Send.target, func.count())
        .where(Send.workspace_id == ws_id, Send.kind == kind, Send.status.in_(("claimed", "sent")))
        .group_by(Send.target)
    ).all()
    return {target: int(count) for target, count in rows}


def reminder_periods(session: Session, ws_id: int) -> set[str]:
    return set(
        session.scalars(
            select(Send.period).where(
                Send.workspace_id == ws_id, Send.kind == "reminder", Send.status.in_(("claimed", "sent"))
            )
        )
    )


# -- the send ledger ---------------------------------------------------------------------


def claim_send(
    session: Session,
    kind: str,
    ws_id: int,
    target: str,
    period: str,
    now: datetime,
    lease: timedelta,
    max_attempts: int,
) -> int | None:
    """Claim the right to send one message; None when someone else has it or it went out.

    A claim older than ``lease`` belongs to a scheduler that died mid-send and is taken
    over; a failed send is retried until ``max_attempts``.
    """
    stmt = (
        insert_or_skip(session, Send, ["kind", "workspace_id", "target", "period"])
        .values(
            kind=kind, workspace_id=ws_id, target=target, period=period, status="claimed", attempts=1, claimed_at=now
        )
        .returning(Send.id)
    )
    new_id = session.execute(stmt).scalar()
    if new_id is not None:
        return int(new_id)
    takeover = session.execute(
        update(Send)
        .where(
            Send.kind == kind,
            Send.workspace_id == ws_id,
            Send.target == target,
            Send.period == period,
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


def last_digest(session: Session, ws_id: int, channel_id: str) -> Send | None:
    return session.scalars(
        select(Send)
        .where(Send.workspace_id == ws_id, Send.kind == "digest", Send.target == channel_id, Send.status == "sent")
        .order_by(Send.sent_at.desc(), Send.id.desc())
        .limit(1)
    ).one_or_none()
