"""What is stored about people, read for their own export and deleted when they (or retention) ask.

Reading one person is six statements and deleting people nine, whatever they gave: each one
covers every row of its table at once. ``delete_people`` takes a workspace and some of its
user ids, or ``None`` for all of them, so a workspace's purge runs the same statements as one
person's ``forget-me``. Functions take the session first and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, true
from sqlalchemy.orm import Session

from bot.db.export import AnswerRow, ScoreRow
from bot.db.models import (
    Answer,
    Assessment,
    ChannelMember,
    DigestSubscription,
    DimensionScore,
    PendingWork,
    Respondent,
    Send,
    Workspace,
)
from bot.db.sql import rowcount
from bot.domain.flow import Status
from bot.domain.rights import Deleted

DIGEST = "digest"  # the send kind addressed to a channel; every other kind is addressed to a person


@dataclass(frozen=True)
class PersonRow:
    respondent_id: int
    workspace_id: int
    created_at: datetime
    tz: str | None
    reminders_paused: bool
    snoozed_until: datetime | None


@dataclass(frozen=True)
class AssessmentRow:
    assessment_id: int
    status: str
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    bank_version: str
    bank_hash: str
    overall_score: float | None
    overall_level: int | None
    report_json: str | None


@dataclass(frozen=True)
class SendRow:
    kind: str
    period: str
    status: str
    sent_at: datetime | None


def person(session: Session, workspace: str, user: str) -> PersonRow | None:
    """The person's directory entry and preferences, or None when nothing is stored about them."""
    row = session.execute(
        select(
            Respondent.id,
            Respondent.workspace_id,
            Respondent.created_at,
            Respondent.tz,
            Respondent.reminders_paused,
            Respondent.snoozed_until,
        )
        .join(Workspace, Workspace.id == Respondent.workspace_id)
        .where(Workspace.external_id == workspace, Respondent.user_id == user)
    ).one_or_none()
    return None if row is None else PersonRow(row[0], row[1], row[2], row[3], bool(row[4]), row[5])


def assessments(session: Session, respondent_id: int) -> list[AssessmentRow]:
    """Every assessment of the person, finished or not, oldest first."""
    rows = session.execute(
        select(
            Assessment.id,
            Assessment.status,
            Assessment.started_at,
            Assessment.updated_at,
            Assessment.completed_at,
            Assessment.bank_version,
            Assessment.bank_hash,
            Assessment.overall_score,
            Assessment.overall_level,
            Assessment.report_json,
        )
        .where(Assessment.respondent_id == respondent_id)
        .order_by(Assessment.started_at, Assessment.id)
    )
    return [AssessmentRow(*tuple(row)) for row in rows]


def answers(session: Session, respondent_id: int) -> list[tuple[AnswerRow, datetime]]:
    """Every answer the person gave, with when, in the order they were first given."""
    rows = session.execute(
        select(
            Answer.assessment_id,
            Answer.question_id,
            Answer.dimension_id,
            Answer.level,
            Answer.question_hash,
            Answer.answered_at,
        )
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .where(Assessment.respondent_id == respondent_id)
        .order_by(Answer.assessment_id, Answer.id)
    )
    return [(AnswerRow(a, q, d, level, h), at) for a, q, d, level, h, at in rows]


def dimension_scores(session: Session, respondent_id: int) -> list[ScoreRow]:
    rows = session.execute(
        select(DimensionScore.assessment_id, DimensionScore.dimension_id, DimensionScore.score, DimensionScore.level)
        .join(Assessment, Assessment.id == DimensionScore.assessment_id)
        .where(Assessment.respondent_id == respondent_id)
        .order_by(DimensionScore.assessment_id, DimensionScore.dimension_id)
    )
    return [ScoreRow(*row) for row in rows]


def sends_to(session: Session, ws_id: int, user: str) -> list[SendRow]:
    """Invitations, reminders and notices addressed to the person, oldest first."""
    rows = session.execute(
        select(Send.kind, Send.period, Send.status, Send.sent_at)
        .where(Send.workspace_id == ws_id, Send.target == user, Send.kind != DIGEST)
        .order_by(Send.claimed_at, Send.id)
    )
    return [SendRow(*row) for row in rows]


def digest_channels(session: Session, ws_id: int, user: str) -> list[str]:
    """The digest channels the person is a known member of (and so counted in)."""
    return list(
        session.scalars(
            select(DigestSubscription.channel_id)
            .join(ChannelMember, ChannelMember.subscription_id == DigestSubscription.id)
            .where(DigestSubscription.workspace_id == ws_id, ChannelMember.user_id == user)
            .order_by(DigestSubscription.channel_id)
        )
    )


def _in_scope(column: Any, users: Sequence[str] | None) -> Any:
    return true() if users is None else column.in_(list(users))


def delete_people(session: Session, workspace: str, users: Sequence[str] | None, now: datetime) -> Deleted:
    """Delete everything stored about ``users`` of ``workspace`` (a Slack team id, or "local";
    ``None``: everyone in it).

    Their assessments with answers, scores and reports; their directory entries with their
    preferences; their memberships of digest channels (so no later digest counts them); the
    invitations, reminders and notices addressed to them (the sends ledger's rows keyed by their
    id); their queued requests that no worker holds (the one running this, if any, finishes
    normally). Digests already sent hold only team aggregates and stay. Deleting people already
    gone deletes nothing.
    """
    ws_id = session.scalar(select(Workspace.id).where(Workspace.external_id == workspace))
    if ws_id is None:
        return Deleted()
    people = select(Respondent.id).where(Respondent.workspace_id == ws_id, _in_scope(Respondent.user_id, users))
    owners = (
        PendingWork.owner.like(f"{workspace}:%")
        if users is None
        else PendingWork.owner.in_([f"{workspace}:{u}" for u in users])
    )
    subscriptions = select(DigestSubscription.id).where(DigestSubscription.workspace_id == ws_id)
    return _delete_assessments(session, Assessment.respondent_id.in_(people.scalar_subquery())) + Deleted(
        channel_memberships=_deleted(
            session,
            delete(ChannelMember).where(
                ChannelMember.subscription_id.in_(subscriptions.scalar_subquery()),
                _in_scope(ChannelMember.user_id, users),
            ),
        ),
        sends=_deleted(
            session,
            delete(Send).where(Send.workspace_id == ws_id, Send.kind != DIGEST, _in_scope(Send.target, users)),
        ),
        # A leased row is being done right now (for forget-me, this very request): left to finish.
        queued_requests=_deleted(
            session,
            delete(PendingWork).where(owners, or_(PendingWork.leased_until.is_(None), PendingWork.leased_until <= now)),
        ),
        people=_deleted(
            session, delete(Respondent).where(Respondent.workspace_id == ws_id, _in_scope(Respondent.user_id, users))
        ),
    )


def delete_expired(session: Session, completed_before: datetime, unfinished_before: datetime) -> Deleted:
    """Retention: delete completed assessments completed before ``completed_before`` and
    unfinished ones (open, abandoned or expired) last touched before ``unfinished_before``."""
    return _delete_assessments(
        session,
        or_(
            (Assessment.status == Status.COMPLETE.value) & (Assessment.completed_at < completed_before),
            (Assessment.status != Status.COMPLETE.value) & (Assessment.updated_at < unfinished_before),
        ),
    )


def _delete_assessments(session: Session, chosen: ColumnElement[bool]) -> Deleted:
    """The assessments ``chosen`` (a condition on their columns) with their answers and scores."""
    reports = int(session.scalar(select(func.count(Assessment.report_json)).where(chosen)) or 0)
    ids = select(Assessment.id).where(chosen).scalar_subquery()
    answers_gone = _deleted(session, delete(Answer).where(Answer.assessment_id.in_(ids)))
    scores_gone = _deleted(session, delete(DimensionScore).where(DimensionScore.assessment_id.in_(ids)))
    assessments_gone = _deleted(session, delete(Assessment).where(chosen))
    return Deleted(assessments=assessments_gone, reports=reports, answers=answers_gone, dimension_scores=scores_gone)


def _deleted(session: Session, stmt: Any) -> int:
    return rowcount(session.execute(stmt.execution_options(synchronize_session=False)))
