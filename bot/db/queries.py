"""Query functions. Each takes the session first, never commits, and returns rows or domain data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.db.models import Answer, Assessment, DimensionScore, Respondent, Workspace
from bot.domain.flow import RunState, Status
from bot.domain.questionnaire import Questionnaire
from bot.domain.report import Report
from bot.domain.scoring import Score


def insert_or_skip(session: Session, model: type[Any], conflict: Sequence[str] | None = None) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING for the session's database (SQLite or PostgreSQL).

    ``conflict`` names the unique columns; None means any unique constraint.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=conflict)
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing(index_elements=conflict)
    raise RuntimeError(f"unsupported database {dialect}")  # pragma: no cover


def insert_ignore(session: Session, model: type[Any], values: dict[str, Any], conflict: Sequence[str]) -> None:
    """INSERT that silently does nothing when a row with the same unique key exists."""
    session.execute(insert_or_skip(session, model, conflict).values(**values))


def get_or_create_respondent(
    session: Session, workspace: str, user: str, now: datetime, lock: bool = False
) -> Respondent:
    """The person's row, created if needed; ``lock`` holds it (PostgreSQL) until the transaction ends.

    Locking the person serialises their starts and restarts: without it, concurrent
    restarts on PostgreSQL skip each other's new assessment and collide on the
    one-open-assessment index, more times than the retries allow.
    """
    insert_ignore(session, Workspace, {"external_id": workspace, "created_at": now}, ["external_id"])
    ws_id = session.scalars(select(Workspace.id).where(Workspace.external_id == workspace)).one()
    insert_ignore(
        session,
        Respondent,
        {"workspace_id": ws_id, "user_id": user, "created_at": now},
        ["workspace_id", "user_id"],
    )
    stmt = select(Respondent).where(Respondent.workspace_id == ws_id, Respondent.user_id == user)
    return session.scalars(stmt.with_for_update() if lock else stmt).one()


def find_respondent(session: Session, workspace: str, user: str) -> Respondent | None:
    return session.scalars(
        select(Respondent).join(Workspace).where(Workspace.external_id == workspace, Respondent.user_id == user)
    ).one_or_none()


def open_assessment(session: Session, respondent_id: int, lock: bool = False) -> Assessment | None:
    stmt = select(Assessment).where(Assessment.respondent_id == respondent_id, Assessment.status == Status.ASKING.value)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def owned_assessment(session: Session, assessment_id: int) -> tuple[Assessment, str, str] | None:
    """The assessment (row-locked) with its owner's workspace and user ids, in one query."""
    found = session.execute(
        select(Assessment, Workspace.external_id, Respondent.user_id)
        .join(Respondent, Respondent.id == Assessment.respondent_id)
        .join(Workspace, Workspace.id == Respondent.workspace_id)
        .where(Assessment.id == assessment_id)
        .with_for_update(of=Assessment)
    ).one_or_none()
    return None if found is None else (found[0], found[1], found[2])


def add_assessment(session: Session, respondent_id: int, bank: Questionnaire, state: RunState) -> Assessment:
    assert state.started_at is not None and state.updated_at is not None
    row = Assessment(
        respondent_id=respondent_id,
        status=state.status.value,
        position=state.position,
        version=state.version,
        bank_version=bank.version,
        bank_hash=bank.content_hash,
        started_at=state.started_at,
        updated_at=state.updated_at,
        answered_count=0,
    )
    session.add(row)
    session.flush()
    return row


def load_state(session: Session, row: Assessment) -> RunState:
    answers = session.execute(select(Answer.question_id, Answer.level).where(Answer.assessment_id == row.id)).all()
    return RunState(
        status=Status(row.status),
        position=row.position,
        answers=MappingProxyType({qid: level for qid, level in answers}),
        version=row.version,
        started_at=row.started_at,
        updated_at=row.updated_at,
        completed_at=row.completed_at,
    )


class ConcurrentUpdate(RuntimeError):
    """Another writer changed the assessment between our read and our write."""


def save_state(
    session: Session, row: Assessment, bank: Questionnaire, old: RunState, new: RunState, now: datetime
) -> None:
    """Write a transition: the row (guarded by its version) and any changed answers."""
    result = session.execute(
        update(Assessment)
        .where(Assessment.id == row.id, Assessment.version == old.version)
        .values(
            status=new.status.value,
            position=new.position,
            version=new.version,
            updated_at=new.updated_at or now,
            completed_at=new.completed_at,
            answered_count=sum(1 for v in new.answers.values() if v is not None),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentUpdate(f"assessment {row.id} changed concurrently")
    for question_id, level in new.answers.items():
        if question_id in old.answers and old.answers[question_id] == level:
            continue
        if question_id in old.answers:
            session.execute(
                update(Answer)
                .where(Answer.assessment_id == row.id, Answer.question_id == question_id)
                .values(level=level, answered_at=now)
            )
        else:
            q = bank.question(question_id)
            session.execute(
                insert(Answer).values(
                    assessment_id=row.id,
                    question_id=question_id,
                    dimension_id=q.dimension,
                    level=level,
                    weight=float(q.weight),
                    answered_at=now,
                )
            )
    # Mirror the UPDATE on the loaded row without another round trip to the database.
    for key, value in (
        ("status", new.status.value),
        ("position", new.position),
        ("version", new.version),
        ("updated_at", new.updated_at or now),
        ("completed_at", new.completed_at),
        ("answered_count", sum(1 for v in new.answers.values() if v is not None)),
    ):
        set_committed_value(row, key, value)


def save_result(session: Session, row: Assessment, score: Score, report: Report) -> None:
    row.overall_score = None if score.overall is None else float(score.overall)
    row.overall_level = score.level
    row.report_json = json.dumps(report.to_json_dict())
    for d in score.dimensions:
        session.add(
            DimensionScore(
                assessment_id=row.id,
                dimension_id=d.dimension_id,
                score=None if d.score is None else float(d.score),
                level=d.level,
                answered=d.answered,
            )
        )
    session.flush()


def set_message(session: Session, assessment_id: int, channel_id: str, message_ts: str) -> None:
    session.execute(
        update(Assessment).where(Assessment.id == assessment_id).values(channel_id=channel_id, message_ts=message_ts)
    )


def completed_assessments(session: Session, respondent_id: int, limit: int) -> list[Assessment]:
    """The newest completed assessments first."""
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.respondent_id == respondent_id, Assessment.status == Status.COMPLETE.value)
            .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
            .limit(limit)
        )
    )


def stored_report(row: Assessment) -> Report | None:
    if row.report_json is None:
        return None
    return Report.from_json_dict(json.loads(row.report_json))


def claim_event(session: Session, event_id: str, now: datetime) -> bool:
    """Record an event id; False when it was recorded before (a retry or duplicate)."""
    from bot.db.models import ProcessedEvent

    stmt = (
        insert_or_skip(session, ProcessedEvent)
        .values(event_id=event_id, received_at=now)
        .returning(ProcessedEvent.event_id)
    )
    # rowcount is not reliable for INSERT .. ON CONFLICT across drivers; RETURNING is.
    return session.execute(stmt).first() is not None


def forget_events(session: Session, before: datetime) -> int:
    """Delete event ids received before ``before``; Slack stops retrying within minutes."""
    from bot.db.models import ProcessedEvent

    stmt = delete(ProcessedEvent).where(ProcessedEvent.received_at < before)
    return int(session.execute(stmt.execution_options(synchronize_session=False)).rowcount or 0)
