"""Each workspace's question bank: the rows of ``question_banks``, newest revision current.
Functions take the session first and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Assessment, QuestionBank, Respondent, Workspace
from bot.db.people import workspace_id
from bot.domain.flow import Status


@dataclass(frozen=True)
class BankRef:
    """What a workspace's current bank is, without its content: enough to find it parsed."""

    revision: int
    name: str
    version: str
    content_hash: str
    set_by: str
    set_at: datetime


class RevisionTaken(RuntimeError):
    """Another change of the workspace's bank was stored first with the same revision."""


_FIELDS = (
    QuestionBank.revision,
    QuestionBank.name,
    QuestionBank.version,
    QuestionBank.content_hash,
    QuestionBank.set_by,
    QuestionBank.set_at,
)


def _of(workspace: str | int) -> ColumnElement[bool]:
    """The rows of one workspace, named by its team id (T..., "local") or its row id."""
    if isinstance(workspace, int):
        return QuestionBank.workspace_id == workspace
    return QuestionBank.workspace_id == select(Workspace.id).where(Workspace.external_id == workspace).scalar_subquery()


def current(session: Session, workspace: str | int) -> BankRef | None:
    """The workspace's current bank (one row, by the unique index), or None when it uses the default."""
    query = select(*_FIELDS).where(_of(workspace)).order_by(QuestionBank.revision.desc()).limit(1)
    row = session.execute(query).one_or_none()
    return None if row is None else BankRef(*row)


def content(session: Session, workspace: str | int, revision: int) -> str:
    """The JSON document of one of the workspace's banks."""
    query = select(QuestionBank.content).where(_of(workspace), QuestionBank.revision == revision)
    return str(session.scalars(query).one())


def add(
    session: Session,
    workspace: str,
    revision: int,
    *,
    name: str,
    version: str,
    document: str,
    content_hash: str,
    by: str,
    now: datetime,
) -> None:
    """Store the workspace's bank as ``revision``; RevisionTaken when a concurrent change stored it first.

    Runs in a savepoint so that the losing insert leaves the caller's transaction usable (PostgreSQL
    aborts a transaction on a failed statement)."""
    ws_id = workspace_id(session, workspace, now)
    row = QuestionBank(
        workspace_id=ws_id,
        revision=revision,
        name=name,
        version=version,
        content=document,
        content_hash=content_hash,
        set_by=by,
        set_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise RevisionTaken(f"{workspace} bank revision {revision} was stored by another change") from exc


def lock_workspace(session: Session, workspace: str, now: datetime) -> int:
    """The workspace's row id, locked (PostgreSQL) until the transaction ends: changes of its bank
    queue behind each other, so the second reads the first's revision (SQLite's IMMEDIATE
    transactions serialise writers already)."""
    ws_id = workspace_id(session, workspace, now)
    session.execute(select(Workspace.id).where(Workspace.id == ws_id).with_for_update())
    return ws_id


def unfinished(session: Session, workspace: str) -> int:
    """How many assessments in the workspace are unfinished (they carry over on their next click)."""
    query = (
        select(func.count(Assessment.id))
        .join(Respondent, Respondent.id == Assessment.respondent_id)
        .join(Workspace, Workspace.id == Respondent.workspace_id)
        .where(Workspace.external_id == workspace, Assessment.status == Status.ASKING.value)
    )
    return int(session.scalar(query) or 0)
