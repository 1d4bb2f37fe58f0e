"""Workspaces and the people in them: who they are, their time zones, their reminder choices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from bot.db.models import Assessment, ChannelMember, Respondent, Workspace
from bot.db.sql import CHUNK, insert_ignore, insert_or_skip
from bot.domain.flow import Status


def workspace_id(session: Session, external_id: str, now: datetime, enterprise_id: str | None = None) -> int:
    """The id of a workspace (a Slack team id, or "local"), created on first sight.

    ``enterprise_id``: the Enterprise Grid organisation the request or job said the workspace is in,
    stored on the row (created with it, or updated when the row had none or another), so an org-wide
    uninstall finds every workspace of the organisation. None leaves what is stored as it is.
    """
    row = {"external_id": external_id, "created_at": now, "enterprise_id": enterprise_id}
    insert_ignore(session, Workspace, row, ["external_id"])
    found = session.execute(
        select(Workspace.id, Workspace.enterprise_id).where(Workspace.external_id == external_id)
    ).one()
    if enterprise_id is not None and found.enterprise_id != enterprise_id:
        session.execute(update(Workspace).where(Workspace.id == found.id).values(enterprise_id=enterprise_id))
    return int(found.id)


def get_or_create_respondent(session: Session, workspace: str, user: str, now: datetime, lock: bool = False) -> int:
    """The person's id, created if needed; ``lock`` holds their row (PostgreSQL) until the transaction ends.

    Locking the person serialises their starts and restarts: without it, concurrent
    restarts on PostgreSQL skip each other's new assessment and collide on the
    one-open-assessment index, more times than the retries allow.
    """
    ws_id = workspace_id(session, workspace, now)
    insert_ignore(
        session,
        Respondent,
        {"workspace_id": ws_id, "user_id": user, "created_at": now},
        ["workspace_id", "user_id"],
    )
    stmt = select(Respondent.id).where(Respondent.workspace_id == ws_id, Respondent.user_id == user)
    return int(session.scalars(stmt.with_for_update() if lock else stmt).one())


def find_respondent(session: Session, workspace: str, user: str) -> int | None:
    return session.scalars(
        select(Respondent.id).join(Workspace).where(Workspace.external_id == workspace, Respondent.user_id == user)
    ).one_or_none()


def set_preferences(
    session: Session, respondent_id: int, *, paused: bool | None = None, snooze_until: datetime | None = None
) -> None:
    values: dict[str, object] = {}
    if paused is not None:
        values["reminders_paused"] = paused
    if snooze_until is not None:
        values["snoozed_until"] = snooze_until
    if values:
        session.execute(update(Respondent).where(Respondent.id == respondent_id).values(**values))


def ensure_respondents(session: Session, ws_id: int, people: Mapping[str, str | None], now: datetime) -> None:
    """Create respondent rows, with their time zones, for people first seen in Slack.

    In user id order, as every writer of these rows goes: two schedulers adding overlapping
    channels' members at once (ON CONFLICT waits for the other's uncommitted row) never deadlock.
    """
    rows = [{"workspace_id": ws_id, "user_id": u, "tz": tz, "created_at": now} for u, tz in sorted(people.items())]
    stmt = insert_or_skip(session, Respondent, ["workspace_id", "user_id"])
    for start in range(0, len(rows), CHUNK):
        session.execute(stmt, rows[start : start + CHUNK])


def update_directory(session: Session, ws_id: int, people: Mapping[str, tuple[str | None, bool]]) -> None:
    """Store each known person's time zone and whether they are an active human."""
    rows = session.execute(
        select(Respondent.id, Respondent.user_id, Respondent.tz, Respondent.active)
        .where(Respondent.workspace_id == ws_id)
        .order_by(Respondent.id)  # the rows are updated (locked) in one order by everyone: no deadlock
    ).all()
    changes = []
    for rid, user_id, tz, active in rows:
        if user_id in people:
            new_tz, new_active = people[user_id]
            if (new_tz, new_active) != (tz, active):
                changes.append({"rid": rid, "tz": new_tz, "active": new_active})
    table = Respondent.__table__
    for start in range(0, len(changes), CHUNK):
        session.connection().execute(
            update(table)  # type: ignore[arg-type]
            .where(table.c.id == bindparam("rid"))
            .values(tz=bindparam("tz"), active=bindparam("active")),
            changes[start : start + CHUNK],
        )


@dataclass(frozen=True)
class Candidate:
    """Someone who may be invited or reminded, with what decides whether they are due."""

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
    return [
        Candidate(
            user_id=r[0],
            tz=r[1],
            reminders_paused=bool(r[2]),
            snoozed_until=r[3],
            last_completed=r[4],
            open_assessment=r[5],
            open_position=r[6],
            open_updated=r[7],
        )
        for r in rows
    ]
