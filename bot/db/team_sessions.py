"""Team sessions, their votes, agreed levels and actions (queries take the caller's session)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.models import SessionAction, SessionOutcome, SessionVote, TeamSession
from bot.db.sql import insert_or_skip, rowcount
from bot.domain.team_session import Agreement, NewAction, Stage

# A vote's statements, built once and bound per call (as a click's are, bot/db/assessments.py): the
# upsert's ``excluded`` alone builds a table of proxies each time, and a burst of votes is all the worker
# does.
_FOR_VOTE = (
    select(TeamSession).where(TeamSession.id == bindparam("session_id")).with_for_update(read=True, key_share=True)
)
_HAS_VOTED = select(SessionVote.level).where(
    SessionVote.session_id == bindparam("session_id"),
    SessionVote.question_id == bindparam("question_id"),
    SessionVote.user_id == bindparam("user_id"),
)


def _upsert_vote(insert: Callable[..., Any]) -> Any:
    statement = insert(SessionVote).values(
        session_id=bindparam("session_id"),
        question_id=bindparam("question_id"),
        user_id=bindparam("user_id"),
        level=bindparam("level"),
        voted_at=bindparam("voted_at"),
    )
    return statement.on_conflict_do_update(
        index_elements=["session_id", "question_id", "user_id"],
        set_={"level": statement.excluded.level, "voted_at": statement.excluded.voted_at},
    )


_UPSERT_VOTE = {"postgresql": _upsert_vote(postgresql.insert), "sqlite": _upsert_vote(sqlite.insert)}
_UNCLAIMED = and_(
    TeamSession.id == bindparam("session_id"),
    or_(TeamSession.refresh_claimed_at.is_(None), TeamSession.refresh_claimed_at <= bindparam("stale_before")),
)
_CLAIM = (
    update(TeamSession)
    .where(_UNCLAIMED)
    .values(refresh_claimed_at=bindparam("now"), updated_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
_CLAIM_WITH_URL = (
    update(TeamSession)
    .where(_UNCLAIMED)
    .values(
        refresh_claimed_at=bindparam("now"),
        updated_at=bindparam("now"),
        live_url=bindparam("url"),
        live_url_at=bindparam("now"),
    )
    .execution_options(synchronize_session=False)
)


def live(session: Session, ws_id: int, channel_id: str, *, lock: bool = False) -> TeamSession | None:
    """The channel's live session (locked for this transaction with ``lock``)."""
    query = select(TeamSession).where(TeamSession.workspace_id == ws_id, TeamSession.live_channel == channel_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def by_id(session: Session, session_id: int, *, lock: bool = False) -> TeamSession | None:
    query = select(TeamSession).where(TeamSession.id == session_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def for_vote(session: Session, session_id: int) -> TeamSession | None:
    """The session, locked for a vote: other votes go on side by side (PostgreSQL's FOR KEY SHARE), while
    the facilitator's steps and the refresh (FOR UPDATE) wait for the votes under way and are waited for.
    A vote must not write the row but through ``claim_refresh``: a write per vote would queue them all
    behind one another's commits again."""
    return session.scalars(_FOR_VOTE, {"session_id": session_id}).first()


def create(
    session: Session,
    ws_id: int,
    channel_id: str,
    *,
    facilitator: str,
    dimension_id: str | None,
    question_ids: Sequence[str],
    members: int | None,
    now: datetime,
) -> TeamSession | None:
    """A new live session in the channel; None when one is live there already (a race lost included)."""
    values = {
        "workspace_id": ws_id,
        "channel_id": channel_id,
        "live_channel": channel_id,
        "facilitator": facilitator,
        "dimension_id": dimension_id,
        "question_ids": json.dumps(list(question_ids)),
        "position": 0,
        "stage": Stage.VOTING.value,
        "members": members,
        "started_at": now,
        "updated_at": now,
    }
    result = session.execute(
        insert_or_skip(session, TeamSession, ["workspace_id", "live_channel"])
        .values(**values)
        .returning(TeamSession.id)
    )
    new_id = result.scalar_one_or_none()
    return None if new_id is None else session.get(TeamSession, new_id)


def question_ids(row: TeamSession) -> list[str]:
    return [str(q) for q in json.loads(row.question_ids)]


def vote(session: Session, row: TeamSession, question_id: str, user: str, *, level: int, now: datetime) -> None:
    """Record (or change) a person's vote on a question: one row per person and question."""
    values = {"session_id": row.id, "question_id": question_id, "user_id": user, "level": level, "voted_at": now}
    session.execute(_UPSERT_VOTE[session.get_bind().dialect.name], values)


def has_voted(session: Session, session_id: int, question_id: str, user: str) -> bool:
    found = session.execute(_HAS_VOTED, {"session_id": session_id, "question_id": question_id, "user_id": user})
    return found.first() is not None


def vote_count(session: Session, session_id: int, question_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(SessionVote)
            .where(SessionVote.session_id == session_id, SessionVote.question_id == question_id)
        )
        or 0
    )


def vote_values(session: Session, session_id: int, question_id: str) -> list[int]:
    """The question's votes as stored (levels, 0 for not applicable), without who cast them."""
    return list(
        session.scalars(
            select(SessionVote.level).where(
                SessionVote.session_id == session_id, SessionVote.question_id == question_id
            )
        )
    )


def claim_refresh(
    session: Session, session_id: int, now: datetime, *, stale_after: timedelta, response_url: str | None
) -> bool:
    """Take the right to queue the next refresh of the live message's count, keeping the claiming vote's
    response_url for it; False while one is queued (a claim older than ``stale_after`` is taken over: its
    job was lost). One conditional UPDATE: only the claiming vote writes the session's row, so the votes
    between two refreshes do not wait for each other."""
    statement = _CLAIM_WITH_URL if response_url else _CLAIM
    claimed = session.execute(
        statement, {"session_id": session_id, "now": now, "stale_before": now - stale_after, "url": response_url}
    )
    return rowcount(claimed) == 1


def save_outcome(session: Session, row: TeamSession, agreement: Agreement, *, votes: int, now: datetime) -> None:
    existing = session.get(SessionOutcome, (row.id, agreement.question_id))
    if existing is None:
        session.add(
            SessionOutcome(
                session_id=row.id,
                question_id=agreement.question_id,
                level=agreement.level,
                mixed=agreement.mixed,
                votes=votes,
                agreed_at=now,
            )
        )
        return
    existing.level, existing.mixed, existing.votes, existing.agreed_at = agreement.level, agreement.mixed, votes, now


def outcomes(session: Session, session_id: int) -> list[Agreement]:
    rows = session.scalars(
        select(SessionOutcome).where(SessionOutcome.session_id == session_id).order_by(SessionOutcome.agreed_at)
    )
    return [Agreement(r.question_id, r.level, r.mixed) for r in rows]


def outcome(session: Session, session_id: int, question_id: str) -> Agreement | None:
    found = session.get(SessionOutcome, (session_id, question_id))
    return None if found is None else Agreement(found.question_id, found.level, found.mixed)


def previous_ended(session: Session, ws_id: int, channel_id: str, before_id: int | None) -> TeamSession | None:
    """The channel's last ended session (before ``before_id``, when given) that agreed anything."""
    agreed = select(SessionOutcome.session_id).where(SessionOutcome.session_id == TeamSession.id).exists()
    return session.scalars(
        select(TeamSession)
        .where(
            TeamSession.workspace_id == ws_id,
            TeamSession.channel_id == channel_id,
            TeamSession.ended_at.is_not(None),
            TeamSession.id < before_id if before_id is not None else true(),
            agreed,
        )
        .order_by(TeamSession.id.desc())
        .limit(1)
    ).first()


def latest_ended(session: Session, ws_id: int, channel_id: str) -> TeamSession | None:
    return previous_ended(session, ws_id, channel_id, before_id=None)


def end(row: TeamSession, reason: str, now: datetime) -> None:
    row.live_channel = None
    row.ended_at = now
    row.end_reason = reason
    row.updated_at = now


def idle(session: Session, before: datetime, limit: int) -> list[TeamSession]:
    """Live sessions nobody touched since ``before`` (oldest first)."""
    return list(
        session.scalars(
            select(TeamSession)
            .where(TeamSession.live_channel.is_not(None), TeamSession.updated_at < before)
            .order_by(TeamSession.updated_at)
            .limit(limit)
        )
    )


# -- actions ---------------------------------------------------------------------------------


def add_action(
    session: Session, row: TeamSession, action: NewAction, *, question_id: str | None, created_by: str, now: datetime
) -> SessionAction:
    added = SessionAction(
        workspace_id=row.workspace_id,
        channel_id=row.channel_id,
        session_id=row.id,
        question_id=question_id,
        text=action.text,
        owner=action.owner,
        due=action.due,
        created_by=created_by,
        created_at=now,
    )
    session.add(added)
    session.flush()
    return added


def session_actions(session: Session, session_id: int) -> list[SessionAction]:
    return list(
        session.scalars(select(SessionAction).where(SessionAction.session_id == session_id).order_by(SessionAction.id))
    )


def open_actions(session: Session, ws_id: int, channel_id: str, limit: int = 50) -> list[SessionAction]:
    return list(
        session.scalars(
            select(SessionAction)
            .where(
                SessionAction.workspace_id == ws_id,
                SessionAction.channel_id == channel_id,
                SessionAction.done_at.is_(None),
            )
            .order_by(SessionAction.due.is_(None), SessionAction.due, SessionAction.id)
            .limit(limit)
        )
    )


def action(session: Session, ws_id: int, action_id: int, *, lock: bool = False) -> SessionAction | None:
    query = select(SessionAction).where(SessionAction.id == action_id, SessionAction.workspace_id == ws_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def overdue(actions: Sequence[SessionAction], today: date) -> list[SessionAction]:
    return [a for a in actions if a.due is not None and a.due < today]


# -- a person's rights -----------------------------------------------------------------------


def votes_of(session: Session, ws_id: int, user: str) -> list[tuple[TeamSession, SessionVote]]:
    rows = session.execute(
        select(TeamSession, SessionVote)
        .join(SessionVote, SessionVote.session_id == TeamSession.id)
        .where(TeamSession.workspace_id == ws_id, SessionVote.user_id == user)
        .order_by(SessionVote.voted_at)
    )
    return [(s, v) for s, v in rows.tuples()]


def forget(session: Session, ws_id: int, user: str) -> int:
    """Delete a person's votes and take their name off sessions and actions (which stay: they are the
    team's). Returns how many votes were deleted."""
    mine = select(TeamSession.id).where(TeamSession.workspace_id == ws_id)
    deleted = rowcount(
        session.execute(delete(SessionVote).where(SessionVote.user_id == user, SessionVote.session_id.in_(mine)))
    )
    session.execute(
        update(TeamSession)
        .where(TeamSession.workspace_id == ws_id, TeamSession.facilitator == user)
        .values(facilitator=None)
    )
    for column in (SessionAction.owner, SessionAction.created_by, SessionAction.done_by):
        session.execute(
            update(SessionAction).where(SessionAction.workspace_id == ws_id, column == user).values({column.key: None})
        )
    return deleted
