"""Team sessions, their votes, agreed levels and actions (queries take the caller's session)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.models import SessionAction, SessionOutcome, SessionVote, TeamSession, Workspace
from bot.db.sql import insert_or_skip, rowcount
from bot.domain.team_session import Agreement, NewAction, Stage, StoredAgreement

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
    return session.scalars(_locked(query) if lock else query).first()


def by_id(session: Session, session_id: int, *, lock: bool = False) -> TeamSession | None:
    """The session (locked for this transaction with ``lock``)."""
    query = select(TeamSession).where(TeamSession.id == session_id)
    return session.scalars(_locked(query) if lock else query).first()


def _locked(query: Select[TeamSession]) -> Select[TeamSession]:
    """The row locked, and read as it is once the lock is held: a row this transaction read before
    (``idle``'s list) is refreshed in the identity map, so a session another transaction ended while
    this one waited for the lock is seen ended."""
    return query.with_for_update().execution_options(populate_existing=True)


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


def previous_ended(
    session: Session, ws_id: int, channel_id: str, before_id: int | None, *, with_outcomes: bool = True
) -> TeamSession | None:
    """The channel's last ended session (before ``before_id``, when given; with ``with_outcomes``, the
    last that agreed anything)."""
    agreed = select(SessionOutcome.session_id).where(SessionOutcome.session_id == TeamSession.id).exists()
    return session.scalars(
        select(TeamSession)
        .where(
            TeamSession.workspace_id == ws_id,
            TeamSession.channel_id == channel_id,
            TeamSession.ended_at.is_not(None),
            TeamSession.id < before_id if before_id is not None else true(),
            agreed if with_outcomes else true(),
        )
        .order_by(TeamSession.id.desc())
        .limit(1)
    ).first()


def latest_ended(session: Session, ws_id: int, channel_id: str, *, with_outcomes: bool = True) -> TeamSession | None:
    return previous_ended(session, ws_id, channel_id, before_id=None, with_outcomes=with_outcomes)


def latest_agreements(session: Session, ws_id: int, channel_id: str | None = None) -> dict[str, list[StoredAgreement]]:
    """Per channel (one, or every channel of the workspace: one statement either way), each question's
    outcome from the newest ended session that agreed it; ``agreed_levels`` picks per dimension."""
    newest = (
        func.row_number()
        .over(
            partition_by=(TeamSession.channel_id, SessionOutcome.question_id),
            order_by=(TeamSession.ended_at.desc(), TeamSession.id.desc()),
        )
        .label("newest")
    )
    ranked = (
        select(
            TeamSession.channel_id,
            TeamSession.id,
            TeamSession.ended_at,
            SessionOutcome.question_id,
            SessionOutcome.level,
            SessionOutcome.mixed,
            newest,
        )
        .join(SessionOutcome, SessionOutcome.session_id == TeamSession.id)
        .where(
            TeamSession.workspace_id == ws_id,
            TeamSession.ended_at.is_not(None),
            TeamSession.channel_id == channel_id if channel_id is not None else true(),
        )
        .subquery()
    )
    found: dict[str, list[StoredAgreement]] = {}
    for channel, session_id, ended_at, question_id, level, mixed, _ in session.execute(
        select(ranked).where(ranked.c.newest == 1)
    ):
        found.setdefault(channel, []).append(
            StoredAgreement(session_id, ended_at.date(), Agreement(question_id, level, bool(mixed)))
        )
    return found


def agreements_since(session: Session, ws_id: int, channel_id: str, since: datetime) -> list[StoredAgreement]:
    """Every outcome of the channel's sessions that ended at ``since`` or later (the trend's markers)."""
    rows = session.execute(
        select(
            TeamSession.id,
            TeamSession.ended_at,
            SessionOutcome.question_id,
            SessionOutcome.level,
            SessionOutcome.mixed,
        )
        .join(SessionOutcome, SessionOutcome.session_id == TeamSession.id)
        .where(
            TeamSession.workspace_id == ws_id,
            TeamSession.channel_id == channel_id,
            TeamSession.ended_at >= since,
        )
        .order_by(TeamSession.ended_at, SessionOutcome.agreed_at)
    )
    return [
        StoredAgreement(session_id, ended_at.date(), Agreement(question_id, level, bool(mixed)))
        for session_id, ended_at, question_id, level, mixed in rows
        if ended_at is not None  # always: the statement takes ended sessions only
    ]


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


def unannounced_idle(session: Session, ended_after: datetime, before: datetime, limit: int) -> list[TeamSession]:
    """Sessions that ended idle between ``ended_after`` and ``before`` whose summary was not posted."""
    return list(
        session.scalars(
            select(TeamSession)
            .where(
                TeamSession.end_reason == "idle",
                TeamSession.summary_ts.is_(None),
                TeamSession.ended_at >= ended_after,
                TeamSession.ended_at < before,
            )
            .order_by(TeamSession.ended_at, TeamSession.id)
            .limit(limit)
        )
    )


# -- actions ---------------------------------------------------------------------------------


def has_action_from(session: Session, session_id: int, source: str) -> bool:
    found = select(SessionAction.id).where(SessionAction.session_id == session_id, SessionAction.source == source)
    return session.scalars(found.limit(1)).first() is not None


def add_action(
    session: Session,
    row: TeamSession,
    action: NewAction,
    *,
    question_id: str | None,
    created_by: str,
    now: datetime,
    source: str | None = None,
) -> SessionAction:
    added = SessionAction(
        source=source,
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


def open_actions_by_channel(
    session: Session, ws_id: int, channel_id: str | None = None, *, limit: int
) -> dict[str, tuple[list[SessionAction], int]]:
    """Per channel (one, or every channel of the workspace: one statement either way), its first
    ``limit`` open actions (soonest due first, undated last) and how many are open in all."""
    order = (SessionAction.due.is_(None), SessionAction.due, SessionAction.id)
    ranked = (
        select(
            SessionAction.id,
            func.row_number().over(partition_by=SessionAction.channel_id, order_by=order).label("place"),
            func.count().over(partition_by=SessionAction.channel_id).label("open"),
        )
        .where(
            SessionAction.workspace_id == ws_id,
            SessionAction.done_at.is_(None),
            SessionAction.channel_id == channel_id if channel_id is not None else true(),
        )
        .subquery()
    )
    rows = session.execute(
        select(SessionAction, ranked.c.open)
        .join(ranked, ranked.c.id == SessionAction.id)
        .where(ranked.c.place <= limit)
        .order_by(SessionAction.channel_id, ranked.c.place)
    )
    found: dict[str, tuple[list[SessionAction], int]] = {}
    for action_row, total in rows:
        found.setdefault(action_row.channel_id, ([], int(total)))[0].append(action_row)
    return found


def action(session: Session, ws_id: int, action_id: int, *, lock: bool = False) -> SessionAction | None:
    query = select(SessionAction).where(SessionAction.id == action_id, SessionAction.workspace_id == ws_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def overdue(actions: Sequence[SessionAction], today: date) -> list[SessionAction]:
    return [a for a in actions if a.due is not None and a.due < today]


# -- a person's rights -----------------------------------------------------------------------


@dataclass(frozen=True)
class VoteRow:
    """One of a person's own votes, with where it was cast."""

    session_id: int
    channel_id: str
    question_id: str
    level: int  # 1-4, or 0 for not applicable
    voted_at: datetime


def votes_of(session: Session, workspace: str, user: str) -> list[VoteRow]:
    """Every vote ``user`` cast in a session of ``workspace`` (a Slack team id), oldest first: one statement."""
    rows = session.execute(
        select(TeamSession.id, TeamSession.channel_id, SessionVote.question_id, SessionVote.level, SessionVote.voted_at)
        .join(SessionVote, SessionVote.session_id == TeamSession.id)
        .join(Workspace, Workspace.id == TeamSession.workspace_id)
        .where(Workspace.external_id == workspace, SessionVote.user_id == user)
        .order_by(SessionVote.voted_at, TeamSession.id, SessionVote.question_id)
    )
    return [VoteRow(*row) for row in rows]


def forget(session: Session, workspace: str, user: str) -> int:
    """Delete a person's votes and take their name off sessions and actions (which stay: they are the
    team's; an action they owned is left without an owner). Returns how many votes were deleted."""
    ws_id = select(Workspace.id).where(Workspace.external_id == workspace).scalar_subquery()
    mine = select(TeamSession.id).where(TeamSession.workspace_id == ws_id)
    deleted = rowcount(
        session.execute(
            delete(SessionVote)
            .where(SessionVote.user_id == user, SessionVote.session_id.in_(mine.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
    )
    session.execute(
        update(TeamSession)
        .where(TeamSession.workspace_id == ws_id, TeamSession.facilitator == user)
        .values(facilitator=None)
        .execution_options(synchronize_session=False)
    )
    for column in (SessionAction.owner, SessionAction.created_by, SessionAction.done_by):
        session.execute(
            update(SessionAction)
            .where(SessionAction.workspace_id == ws_id, column == user)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
    return deleted
