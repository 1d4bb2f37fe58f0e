"""What ``compass export`` reads: completed assessments with their scores and answers, the digests
channels were sent, the teams' sessions (agreed levels and actions, never a vote), and the secret of
the pseudonymous person keys.

Each function is one statement (``secret`` at most three), whatever the number of assessments:
scores and answers are joined to the same filter rather than fetched per assessment.
Functions take the session first and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.db.models import (
    Answer,
    Assessment,
    DeploymentSecret,
    DimensionScore,
    Respondent,
    Send,
    SessionAction,
    SessionOutcome,
    TeamSession,
    Workspace,
)
from bot.db.sql import insert_or_skip
from bot.domain.flow import Status


@dataclass(frozen=True)
class CompletedRow:
    assessment_id: int
    workspace: str  # the Slack team id, or "local"
    user_id: str
    completed_at: datetime
    bank_version: str
    bank_hash: str
    overall_score: float | None
    overall_level: int | None


@dataclass(frozen=True)
class ScoreRow:
    assessment_id: int
    dimension_id: str
    score: float | None
    level: int | None


@dataclass(frozen=True)
class AnswerRow:
    assessment_id: int
    question_id: str
    dimension_id: str
    level: int | None
    question_hash: str | None


@dataclass(frozen=True)
class DigestRow:
    workspace: str
    channel_id: str
    period: str
    sent_at: datetime | None
    payload_json: str


@dataclass(frozen=True)
class SessionRow:
    session_id: int
    workspace: str
    channel_id: str
    dimension_id: str | None  # None: all dimensions
    started_at: datetime
    ended_at: datetime | None  # None: still live
    end_reason: str | None


@dataclass(frozen=True)
class OutcomeRow:
    session_id: int
    question_id: str
    level: int | None  # None: agreed not applicable
    mixed: bool
    votes: int  # how many voted (never who, nor what)


@dataclass(frozen=True)
class ActionRow:
    session_id: int
    text: str
    owner: str | None
    due: date | None
    done_at: datetime | None


_Stmt = TypeVar("_Stmt", bound=Select[*tuple[Any, ...]])


def _completed(stmt: _Stmt, since: datetime | None, workspace: str | None) -> _Stmt:
    """``stmt`` joined to the completed assessments the filters keep, with their owners."""
    stmt = (
        stmt.join(Respondent, Respondent.id == Assessment.respondent_id)
        .join(Workspace, Workspace.id == Respondent.workspace_id)
        .where(Assessment.status == Status.COMPLETE.value, Assessment.completed_at.is_not(None))
    )
    if since is not None:
        stmt = stmt.where(Assessment.completed_at >= since)
    if workspace is not None:
        stmt = stmt.where(Workspace.external_id == workspace)
    return stmt


def completed_assessments(session: Session, since: datetime | None, workspace: str | None) -> list[CompletedRow]:
    """Completed assessments (completed at or after ``since``, in ``workspace``), oldest first."""
    stmt = _completed(
        select(
            Assessment.id,
            Workspace.external_id,
            Respondent.user_id,
            Assessment.completed_at,
            Assessment.bank_version,
            Assessment.bank_hash,
            Assessment.overall_score,
            Assessment.overall_level,
        ).select_from(Assessment),
        since,
        workspace,
    ).order_by(Assessment.completed_at, Assessment.id)
    found = []
    for id_, ws, user, completed_at, bank_version, bank_hash, score, level in session.execute(stmt):
        assert completed_at is not None  # the filter keeps only completed assessments
        found.append(CompletedRow(id_, ws, user, completed_at, bank_version, bank_hash, score, level))
    return found


def dimension_scores(session: Session, since: datetime | None, workspace: str | None) -> list[ScoreRow]:
    """The per-dimension scores of the same assessments."""
    stmt = _completed(
        select(DimensionScore.assessment_id, DimensionScore.dimension_id, DimensionScore.score, DimensionScore.level)
        .select_from(DimensionScore)
        .join(Assessment, Assessment.id == DimensionScore.assessment_id),
        since,
        workspace,
    ).order_by(DimensionScore.assessment_id, DimensionScore.dimension_id)
    return [ScoreRow(*row) for row in session.execute(stmt)]


def answers(session: Session, since: datetime | None, workspace: str | None) -> list[AnswerRow]:
    """The answers of the same assessments, in the order they were first given."""
    stmt = _completed(
        select(Answer.assessment_id, Answer.question_id, Answer.dimension_id, Answer.level, Answer.question_hash)
        .select_from(Answer)
        .join(Assessment, Assessment.id == Answer.assessment_id),
        since,
        workspace,
    ).order_by(Answer.assessment_id, Answer.id)
    return [AnswerRow(*row) for row in session.execute(stmt)]


def sent_digests(session: Session, since: datetime | None, workspace: str | None) -> list[DigestRow]:
    """Every digest that went out with a snapshot of its figures, per workspace and channel, oldest first.

    The snapshot is empty for a digest under the respondent threshold; the caller decides what to show.
    """
    stmt = (
        select(Workspace.external_id, Send.target, Send.period, Send.sent_at, Send.payload_json)
        .join(Workspace, Workspace.id == Send.workspace_id)
        .where(Send.kind == "digest", Send.status == "sent", Send.payload_json.is_not(None))
    )
    if since is not None:
        stmt = stmt.where(Send.sent_at >= since)
    if workspace is not None:
        stmt = stmt.where(Workspace.external_id == workspace)
    stmt = stmt.order_by(Workspace.external_id, Send.target, Send.sent_at, Send.id)
    return [
        DigestRow(ws, channel, period, sent_at, payload or "{}")
        for ws, channel, period, sent_at, payload in session.execute(stmt)
    ]


def _sessions(stmt: _Stmt, since: datetime | None, workspace: str | None) -> _Stmt:
    """``stmt`` joined to the team sessions the filters keep (started at or after ``since``)."""
    stmt = stmt.join(Workspace, Workspace.id == TeamSession.workspace_id)
    if since is not None:
        stmt = stmt.where(TeamSession.started_at >= since)
    if workspace is not None:
        stmt = stmt.where(Workspace.external_id == workspace)
    return stmt


def team_sessions(session: Session, since: datetime | None, workspace: str | None) -> list[SessionRow]:
    """Every team session (started at or after ``since``, in ``workspace``), live ones included, per
    workspace and channel, oldest first."""
    stmt = _sessions(
        select(
            TeamSession.id,
            Workspace.external_id,
            TeamSession.channel_id,
            TeamSession.dimension_id,
            TeamSession.started_at,
            TeamSession.ended_at,
            TeamSession.end_reason,
        ).select_from(TeamSession),
        since,
        workspace,
    ).order_by(Workspace.external_id, TeamSession.channel_id, TeamSession.started_at, TeamSession.id)
    return [SessionRow(*row) for row in session.execute(stmt)]


def session_outcomes(session: Session, since: datetime | None, workspace: str | None) -> list[OutcomeRow]:
    """The agreed levels of the same sessions, in the order they were agreed (no vote is read)."""
    stmt = _sessions(
        select(
            SessionOutcome.session_id,
            SessionOutcome.question_id,
            SessionOutcome.level,
            SessionOutcome.mixed,
            SessionOutcome.votes,
        )
        .select_from(SessionOutcome)
        .join(TeamSession, TeamSession.id == SessionOutcome.session_id),
        since,
        workspace,
    ).order_by(SessionOutcome.session_id, SessionOutcome.agreed_at, SessionOutcome.question_id)
    return [OutcomeRow(sid, q, level, bool(mixed), votes) for sid, q, level, mixed, votes in session.execute(stmt)]


def session_actions(session: Session, since: datetime | None, workspace: str | None) -> list[ActionRow]:
    """The actions agreed in the same sessions, in the order they were added."""
    stmt = _sessions(
        select(
            SessionAction.session_id, SessionAction.text, SessionAction.owner, SessionAction.due, SessionAction.done_at
        )
        .select_from(SessionAction)
        .join(TeamSession, TeamSession.id == SessionAction.session_id),
        since,
        workspace,
    ).order_by(SessionAction.session_id, SessionAction.id)
    return [ActionRow(*row) for row in session.execute(stmt)]


def secret(session: Session, name: str, candidate: str, now: datetime) -> str:
    """The deployment secret called ``name``, stored as ``candidate`` if there is none yet.

    Two first exports at once both insert-or-skip, then read whichever was stored first.
    """
    stmt = select(DeploymentSecret.value).where(DeploymentSecret.name == name)
    found = session.scalar(stmt)
    if found is not None:
        return found
    session.execute(
        insert_or_skip(session, DeploymentSecret, ["name"]).values(name=name, value=candidate, created_at=now)
    )
    return session.scalars(stmt).one()
