"""Digest subscriptions, the members of their channels, and the team aggregate a digest shows.
Aggregation happens in SQL: a fixed number of statements per digest, whatever the team size."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, delete, func, literal, select, union_all, update
from sqlalchemy.orm import Session

from bot.db.models import (
    Answer,
    Assessment,
    ChannelMember,
    DigestSubscription,
    DimensionScore,
    Respondent,
    Workspace,
)
from bot.db.sql import CHUNK, insert_or_skip, rowcount
from bot.domain.digest import ChannelAggregate, DimensionAggregate, QuestionAggregate, Subscription, TeamAggregate
from bot.domain.flow import Status


def _subscription(row: DigestSubscription) -> Subscription:
    return Subscription(row.id, row.channel_id, row.cadence, row.created_by, row.created_at, row.paused_reason)


def subscription(session: Session, ws_id: int, channel_id: str) -> Subscription | None:
    row = session.scalars(
        select(DigestSubscription).where(
            DigestSubscription.workspace_id == ws_id, DigestSubscription.channel_id == channel_id
        )
    ).one_or_none()
    return None if row is None else _subscription(row)


def subscriptions(session: Session, ws_id: int) -> list[Subscription]:
    rows = session.scalars(
        select(DigestSubscription).where(DigestSubscription.workspace_id == ws_id).order_by(DigestSubscription.id)
    )
    return [_subscription(row) for row in rows]


def save_subscription(
    session: Session, ws_id: int, channel_id: str, *, cadence: str, created_by: str, now: datetime
) -> Subscription:
    """Create the channel's subscription, or replace its cadence and owner (and lift a pause)."""
    row = session.scalars(
        select(DigestSubscription).where(
            DigestSubscription.workspace_id == ws_id, DigestSubscription.channel_id == channel_id
        )
    ).one_or_none()
    if row is None:
        row = DigestSubscription(
            workspace_id=ws_id, channel_id=channel_id, cadence=cadence, created_by=created_by, created_at=now
        )
        session.add(row)
    else:
        row.cadence = cadence
        row.created_by = created_by
        row.paused_reason = None
    session.flush()
    return _subscription(row)


def delete_subscription(session: Session, ws_id: int, channel_id: str) -> bool:
    result = session.execute(
        delete(DigestSubscription).where(
            DigestSubscription.workspace_id == ws_id, DigestSubscription.channel_id == channel_id
        )
    )
    return rowcount(result) > 0


def pause_subscription(session: Session, subscription_id: int, reason: str) -> bool:
    """Pause a running digest; False when it was paused (or deleted) already, so of two schedulers
    finding the channel gone at once only one pauses it, and only that one tells its owner."""
    result = session.execute(
        update(DigestSubscription)
        .where(DigestSubscription.id == subscription_id, DigestSubscription.paused_reason.is_(None))
        .values(paused_reason=reason)
    )
    return rowcount(result) > 0


def lock_subscription(session: Session, subscription_id: int) -> bool:
    """Hold the subscription's row until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
    transactions serialise every writer already); False when it was deleted meanwhile."""
    stmt = select(DigestSubscription.id).where(DigestSubscription.id == subscription_id).with_for_update()
    return session.scalar(stmt) is not None


def replace_members(session: Session, subscription_id: int, user_ids: Sequence[str]) -> None:
    """The subscription's members become ``user_ids``: those gone deleted, the new ones added.

    Call it holding ``lock_subscription``: two schedulers refreshing one channel at once then
    replace the list one after the other. (Deleting every row and inserting them again, the
    second one's delete, whose snapshot predates the first one's inserts, missed them, and its
    inserts failed on the primary key.) New rows go in with ON CONFLICT DO NOTHING all the same.
    """
    wanted = set(user_ids)
    stored = set(session.scalars(select(ChannelMember.user_id).where(ChannelMember.subscription_id == subscription_id)))
    gone = sorted(stored - wanted)
    for start in range(0, len(gone), CHUNK):
        session.execute(
            delete(ChannelMember).where(
                ChannelMember.subscription_id == subscription_id, ChannelMember.user_id.in_(gone[start : start + CHUNK])
            )
        )
    rows = [{"subscription_id": subscription_id, "user_id": u} for u in sorted(wanted - stored)]
    stmt = insert_or_skip(session, ChannelMember, ["subscription_id", "user_id"])
    for start in range(0, len(rows), CHUNK):
        session.execute(stmt, rows[start : start + CHUNK])


def member_count(session: Session, subscription_id: int) -> int:
    return int(session.scalar(select(func.count()).where(ChannelMember.subscription_id == subscription_id)) or 0)


def _latest_assessments(scope: Any, ws_id: int, since: datetime, until: datetime) -> Any:
    """Each team member's newest completed assessment in [since, until]; the team is the members of a
    digest subscription (an id) or a list of user ids (a channel without a digest)."""
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
        .where(
            Respondent.workspace_id == ws_id,
            Respondent.active.is_(True),
            Assessment.status == Status.COMPLETE.value,
            Assessment.completed_at >= since,
            Assessment.completed_at <= until,
        )
    )
    if isinstance(scope, int):
        ranked = ranked.join(
            ChannelMember,
            and_(ChannelMember.user_id == Respondent.user_id, ChannelMember.subscription_id == scope),
        )
    else:
        ranked = ranked.where(Respondent.user_id.in_(list(scope)))
    latest = ranked.subquery()
    return select(latest.c.assessment_id, latest.c.overall).where(latest.c.rank == 1).subquery()


def team_aggregate(
    session: Session, subscription_id: int, ws_id: int, since: datetime, until: datetime
) -> TeamAggregate:
    return _aggregate(session, _latest_assessments(subscription_id, ws_id, since, until))


MAX_LISTED_MEMBERS = 10_000  # people_aggregate's team size: bound parameters stay under SQLite's limit


def people_aggregate(
    session: Session, user_ids: Sequence[str], ws_id: int, since: datetime, until: datetime
) -> TeamAggregate:
    """The team aggregate of the given people (a channel's members read from Slack just now)."""
    members = list(dict.fromkeys(user_ids))[:MAX_LISTED_MEMBERS]
    return _aggregate(session, _latest_assessments(members, ws_id, since, until))


def _aggregate(session: Session, latest: Any) -> TeamAggregate:
    respondents, overall = session.execute(select(func.count(), func.avg(latest.c.overall)).select_from(latest)).one()
    level_counts = [func.sum(case((DimensionScore.level == n, 1), else_=0)) for n in (1, 2, 3, 4)]
    dims = session.execute(
        select(
            DimensionScore.dimension_id,
            func.count(DimensionScore.score),
            func.avg(DimensionScore.score),
            *level_counts,
            func.min(DimensionScore.score),
            func.max(DimensionScore.score),
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
                low=None if d[7] is None else float(d[7]),
                high=None if d[8] is None else float(d[8]),
            )
            for d in dims
        ),
        questions=tuple(QuestionAggregate(q[0], int(q[1]), float(q[2])) for q in questions if q[2] is not None),
    )


def channel_aggregates(session: Session, ws_id: int, since: datetime, until: datetime) -> list[ChannelAggregate]:
    """Every digest channel of the workspace with its members, respondents and means: three statements,
    however many channels and people (the teams overview)."""
    subs = session.execute(
        select(DigestSubscription.id, DigestSubscription.channel_id)
        .where(DigestSubscription.workspace_id == ws_id)
        .order_by(DigestSubscription.created_at, DigestSubscription.id)
    ).all()
    members = dict(
        session.execute(
            select(ChannelMember.subscription_id, func.count())
            .join(DigestSubscription, DigestSubscription.id == ChannelMember.subscription_id)
            .where(DigestSubscription.workspace_id == ws_id)
            .group_by(ChannelMember.subscription_id)
        ).all()
    )
    ranked = (
        select(
            ChannelMember.subscription_id.label("sub"),
            Assessment.id.label("assessment_id"),
            Assessment.overall_score.label("overall"),
            func.row_number()
            .over(
                partition_by=(ChannelMember.subscription_id, Assessment.respondent_id),
                order_by=(Assessment.completed_at.desc(), Assessment.id.desc()),
            )
            .label("rank"),
        )
        .join(Respondent, Respondent.id == Assessment.respondent_id)
        .join(ChannelMember, ChannelMember.user_id == Respondent.user_id)
        .join(DigestSubscription, DigestSubscription.id == ChannelMember.subscription_id)
        .where(
            DigestSubscription.workspace_id == ws_id,
            Respondent.workspace_id == ws_id,
            Respondent.active.is_(True),
            Assessment.status == Status.COMPLETE.value,
            Assessment.completed_at >= since,
            Assessment.completed_at <= until,
        )
        .subquery()
    )
    # Each member's latest assessment, ranked once: a materialised CTE that both halves of the one
    # statement below read (as two subqueries, SQLite ranked every assessment twice: ~1 s at 10,000).
    latest = (
        select(ranked.c.sub, ranked.c.assessment_id, ranked.c.overall)
        .where(ranked.c.rank == 1)
        .cte("latest")
        .prefix_with("MATERIALIZED")
    )
    per_team = select(
        latest.c.sub, literal(None, String).label("dimension_id"), func.avg(latest.c.overall), func.count()
    ).group_by(latest.c.sub)
    per_dimension = (
        select(latest.c.sub, DimensionScore.dimension_id, func.avg(DimensionScore.score), func.count())
        .join(latest, latest.c.assessment_id == DimensionScore.assessment_id)
        .group_by(latest.c.sub, DimensionScore.dimension_id)
    )
    overall: dict[int, tuple[int, float | None]] = {}
    means: dict[int, list[tuple[str, float]]] = {}
    for sub, dimension_id, mean, n in session.execute(union_all(per_team, per_dimension)).all():
        if dimension_id is None:
            overall[sub] = (int(n), None if mean is None else float(mean))
        elif mean is not None:
            means.setdefault(sub, []).append((dimension_id, float(mean)))
    return [
        ChannelAggregate(
            channel_id=channel,
            members=int(members.get(sub_id, 0)),
            respondents=overall.get(sub_id, (0, None))[0],
            overall_mean=overall.get(sub_id, (0, None))[1],
            dimension_means=tuple(sorted(means.get(sub_id, []))),
        )
        for sub_id, channel in subs
    ]


def member_channels(session: Session, workspace: str, user_id: str) -> list[str]:
    """The digest channels ``user_id`` of ``workspace`` (its team id) is a member of, oldest subscription
    first. One statement: it is read on every answer click that may show evidence."""
    stmt = (
        select(DigestSubscription.channel_id)
        .join(ChannelMember, ChannelMember.subscription_id == DigestSubscription.id)
        .join(Workspace, Workspace.id == DigestSubscription.workspace_id)
        .where(Workspace.external_id == workspace, ChannelMember.user_id == user_id)
        .order_by(DigestSubscription.created_at, DigestSubscription.id)
    )
    return list(session.scalars(stmt))
