"""Assessments, their answers and results. Functions take the session first and never commit;
what they return is plain data (``StoredAssessment``, domain types), never an ORM row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Answer, Assessment, DimensionScore, Respondent, Workspace
from bot.db.sql import rowcount
from bot.domain.flow import RunState, Status
from bot.domain.questionnaire import Questionnaire
from bot.domain.report import Report
from bot.domain.scoring import Score


class ConcurrentUpdate(RuntimeError):
    """Another writer changed the assessment (or opened one) between our read and our write.

    Raised for a lost version check and for a unique index that let only the other writer
    through, so that callers retry one kind of error and never see the driver's.
    """


@dataclass(frozen=True)
class StoredAssessment:
    id: int
    respondent_id: int
    status: Status
    bank_hash: str
    bank_version: str
    bank_questions: tuple[str, ...] | None  # the question ids of that bank; None before migration 0006
    completed_at: datetime | None
    overall_score: float | None
    overall_level: int | None
    report_json: str | None
    channel_id: str | None  # where the live question message sits in Slack, if anywhere
    message_ts: str | None
    position: int = 0
    version: int = 0
    started_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def report(self) -> Report | None:
        return None if self.report_json is None else Report.from_json_dict(json.loads(self.report_json))


def _stored(row: Assessment) -> StoredAssessment:
    return StoredAssessment(
        id=row.id,
        respondent_id=row.respondent_id,
        status=Status(row.status),
        bank_hash=row.bank_hash,
        bank_version=row.bank_version,
        bank_questions=None if row.bank_questions is None else tuple(json.loads(row.bank_questions)),
        completed_at=row.completed_at,
        overall_score=row.overall_score,
        overall_level=row.overall_level,
        report_json=row.report_json,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
        position=row.position,
        version=row.version,
        started_at=row.started_at,
        updated_at=row.updated_at,
    )


def open_assessment(session: Session, respondent_id: int, lock: bool = False) -> StoredAssessment | None:
    stmt = select(Assessment).where(Assessment.respondent_id == respondent_id, Assessment.status == Status.ASKING.value)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    return None if row is None else _stored(row)


# The statements of every click, built once and bound per call: building them afresh cost the
# worker about as much CPU as running them (bench/click_path.py).
_OWNED = (
    select(Assessment, Workspace.external_id, Respondent.user_id)
    .join(Respondent, Respondent.id == Assessment.respondent_id)
    .join(Workspace, Workspace.id == Respondent.workspace_id)
    .where(Assessment.id == bindparam("assessment_id"))
    .with_for_update(of=Assessment)
)
_ANSWERS = select(Answer.question_id, Answer.level).where(Answer.assessment_id == bindparam("assessment_id"))
_SAVE_STATE = (
    update(Assessment)
    .where(Assessment.id == bindparam("assessment_id"), Assessment.version == bindparam("old_version"))
    .values(
        status=bindparam("status"),
        position=bindparam("position"),
        version=bindparam("version"),
        updated_at=bindparam("updated_at"),
        completed_at=bindparam("completed_at"),
        answered_count=bindparam("answered_count"),
    )
    .execution_options(synchronize_session=False)
)
_ADD_ANSWER = insert(Answer).values(
    assessment_id=bindparam("assessment_id"),
    question_id=bindparam("question_id"),
    dimension_id=bindparam("dimension_id"),
    level=bindparam("level"),
    weight=bindparam("weight"),
    question_hash=bindparam("question_hash"),
    answered_at=bindparam("answered_at"),
)


def owned_assessment(session: Session, assessment_id: int) -> tuple[StoredAssessment, str, str] | None:
    """The assessment (row-locked) with its owner's workspace and user ids, in one query."""
    found = session.execute(_OWNED, {"assessment_id": assessment_id}).one_or_none()
    return None if found is None else (_stored(found[0]), found[1], found[2])


def add_assessment(
    session: Session,
    respondent_id: int,
    bank: Questionnaire,
    state: RunState,
    message: tuple[str | None, str | None] | None = None,
    *,
    bank_name: str | None = None,
) -> StoredAssessment:
    """A new assessment in ``state``; ``message`` is the (channel, ts) of the chat message it starts in,
    ``bank_name`` the workspace bank's name (None: the deployment's default)."""
    assert state.started_at is not None and state.updated_at is not None
    channel_id, message_ts = message or (None, None)
    row = Assessment(
        respondent_id=respondent_id,
        status=state.status.value,
        position=state.position,
        version=state.version,
        bank_version=bank.version,
        bank_hash=bank.content_hash,
        bank_name=bank_name,
        bank_questions=_question_ids(bank),
        started_at=state.started_at,
        updated_at=state.updated_at,
        answered_count=0,
        channel_id=channel_id,
        message_ts=message_ts,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        # Two starts raced past the "no open assessment" check; the partial unique index let one through.
        raise ConcurrentUpdate(f"respondent {respondent_id} already has an open assessment") from exc
    return _stored(row)


def _question_ids(bank: Questionnaire) -> str:
    return json.dumps([q.id for q in bank])


def load_state(session: Session, stored: StoredAssessment) -> RunState:
    """The state of an assessment read in this transaction (``stored``), with its answers."""
    answers = session.execute(_ANSWERS, {"assessment_id": stored.id}).all()
    return RunState(
        status=stored.status,
        position=stored.position,
        answers=MappingProxyType({qid: level for qid, level in answers}),
        version=stored.version,
        started_at=stored.started_at,
        updated_at=stored.updated_at,
        completed_at=stored.completed_at,
    )


def question_hashes(session: Session, assessment_id: int) -> dict[str, str | None]:
    """For each answered question, the content hash of the question as it was answered (None before 0006)."""
    rows = session.execute(
        select(Answer.question_id, Answer.question_hash).where(Answer.assessment_id == assessment_id)
    ).all()
    return {question_id: question_hash for question_id, question_hash in rows}


def move_to_bank(session: Session, assessment_id: int, bank: Questionnaire, bank_name: str | None = None) -> None:
    """Record that the assessment now runs on ``bank`` (after its answers were carried over)."""
    session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id)
        .values(
            bank_version=bank.version,
            bank_hash=bank.content_hash,
            bank_name=bank_name,
            bank_questions=_question_ids(bank),
        )
        .execution_options(synchronize_session=False)
    )


def fill_question_hashes(session: Session, assessment_id: int, bank: Questionnaire) -> None:
    """Give the answers stored without a question hash the hashes of ``bank``, and the assessment
    its question ids: only right when the assessment was begun on this very bank."""
    missing = session.scalars(
        select(Answer.question_id).where(Answer.assessment_id == assessment_id, Answer.question_hash.is_(None))
    ).all()
    for question_id in missing:
        if bank.has_question(question_id):
            session.execute(
                update(Answer)
                .where(Answer.assessment_id == assessment_id, Answer.question_id == question_id)
                .values(question_hash=bank.question(question_id).content_hash)
            )
    session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id)
        .values(bank_questions=_question_ids(bank))
        .execution_options(synchronize_session=False)
    )


def save_state(
    session: Session, assessment_id: int, bank: Questionnaire, transition: tuple[RunState, RunState], now: datetime
) -> None:
    """Write a transition (old, new): the row, guarded by the old version, and any changed answers
    (each with the hash of its question in ``bank``); answers the new state no longer has are deleted."""
    old, new = transition
    answered = sum(1 for v in new.answers.values() if v is not None)
    result = session.execute(
        _SAVE_STATE,
        {
            "assessment_id": assessment_id,
            "old_version": old.version,
            "status": new.status.value,
            "position": new.position,
            "version": new.version,
            "updated_at": new.updated_at or now,
            "completed_at": new.completed_at,
            "answered_count": answered,
        },
    )
    if rowcount(result) != 1:
        raise ConcurrentUpdate(f"assessment {assessment_id} changed concurrently")
    dropped = [question_id for question_id in old.answers if question_id not in new.answers]
    if dropped:
        session.execute(delete(Answer).where(Answer.assessment_id == assessment_id, Answer.question_id.in_(dropped)))
    try:
        for question_id, level in new.answers.items():
            if question_id in old.answers and old.answers[question_id] == level:
                continue
            q = bank.question(question_id)
            if question_id in old.answers:
                session.execute(
                    update(Answer)
                    .where(Answer.assessment_id == assessment_id, Answer.question_id == question_id)
                    .values(level=level, answered_at=now, question_hash=q.content_hash)
                )
            else:
                session.execute(
                    _ADD_ANSWER,
                    {
                        "assessment_id": assessment_id,
                        "question_id": question_id,
                        "dimension_id": q.dimension,
                        "level": level,
                        "weight": float(q.weight),
                        "question_hash": q.content_hash,
                        "answered_at": now,
                    },
                )
    except IntegrityError as exc:
        raise ConcurrentUpdate(f"answers of assessment {assessment_id} changed concurrently") from exc


def save_result(session: Session, assessment_id: int, score: Score, report: Report) -> None:
    session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id)
        .values(
            overall_score=None if score.overall is None else float(score.overall),
            overall_level=score.level,
            report_json=json.dumps(report.to_json_dict()),
        )
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        DimensionScore(
            assessment_id=assessment_id,
            dimension_id=d.dimension_id,
            score=None if d.score is None else float(d.score),
            level=d.level,
            answered=d.answered,
        )
        for d in score.dimensions
    )
    session.flush()


def set_message(session: Session, assessment_id: int, channel_id: str, message_ts: str) -> None:
    session.execute(
        update(Assessment).where(Assessment.id == assessment_id).values(channel_id=channel_id, message_ts=message_ts)
    )


def completed_assessments(session: Session, respondent_id: int, limit: int) -> list[StoredAssessment]:
    """The newest completed assessments first."""
    rows = session.scalars(
        select(Assessment)
        .where(Assessment.respondent_id == respondent_id, Assessment.status == Status.COMPLETE.value)
        .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
        .limit(limit)
    )
    return [_stored(row) for row in rows]


def previous_completed(
    session: Session, respondent_id: int, assessment_id: int, completed_at: datetime
) -> StoredAssessment | None:
    """The person's newest completed assessment before the given one (by completion time, then id)."""
    row = session.scalars(
        select(Assessment)
        .where(
            Assessment.respondent_id == respondent_id,
            Assessment.status == Status.COMPLETE.value,
            Assessment.id != assessment_id,
            or_(
                Assessment.completed_at < completed_at,
                and_(Assessment.completed_at == completed_at, Assessment.id < assessment_id),
            ),
        )
        .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else _stored(row)


def mark_evidence(session: Session, assessment_id: int, question_id: str, agreed: bool | None) -> None:
    """Record whether the answer to ``question_id`` fitted the measured evidence shown with it."""
    session.execute(
        update(Answer)
        .where(Answer.assessment_id == assessment_id, Answer.question_id == question_id)
        .values(evidence_agreed=agreed)
        .execution_options(synchronize_session=False)
    )


def dm_channel(session: Session, respondent_id: int) -> str | None:
    """The chat channel of the person's newest assessment shown in one (their DM with the bot)."""
    return session.scalars(
        select(Assessment.channel_id)
        .where(Assessment.respondent_id == respondent_id, Assessment.channel_id.is_not(None))
        .order_by(Assessment.id.desc())
        .limit(1)
    ).first()
