"""Keeping each change's link to the deployment that first shipped it (bot/domain/lead_time.py).

Derived columns, kept in the transaction that stores the events: on a change row,
``deployed_at`` and ``lead_seconds``; on a deployment row, ``pushed_at`` (when its sha was first
pushed: the upper end of its range). The lead-time metric then reads one indexed aggregate, and
storing a batch relinks only what the batch can change, found through those stored ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Executable, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.db.models import SignalEventRow
from bot.db.sql import rowcount
from bot.domain.lead_time import Deployed, Pushed, first_shipped, lower_bound
from bot.domain.signals import SignalEvent, SignalType

E = SignalEventRow
DEPLOYMENT = SignalType.DEPLOYMENT.value
CHANGE = SignalType.CHANGE.value


def link_stored(session: Session, stored: Iterable[tuple[str, Sequence[SignalEvent]]]) -> int:
    """Relink what newly stored events (source id, its events) can change; returns rows changed."""
    by_source: dict[str, list[SignalEvent]] = {}
    for source_id, events in stored:
        by_source.setdefault(source_id, []).extend(events)
    starts = {}
    for source_id, events in by_source.items():
        start = _relink_from(session, source_id, events)
        if start is not None:
            starts[source_id] = start
    return link_changes(session, starts)


def _relink_from(session: Session, source_id: str, events: Sequence[SignalEvent]) -> datetime | None:
    """The time of the first deployment whose range the new events can change (None: none can).

    A new deployment changes its own range and its successor's. A new push matters only when it
    is late: a deployment already stored ran a sha pushed at or after it (so its range holds the
    push), or ran this push's head, which had not been seen pushed.
    """
    starts = [e.at for e in events if e.type is SignalType.DEPLOYMENT]
    pushed = [e.pushed_at for e in events if e.type is SignalType.CHANGE and e.pushed_at is not None]
    if pushed:
        heads = sorted({e.head for e in events if e.type is SignalType.CHANGE and e.pushed_at and e.head})
        late = E.pushed_at >= min(pushed)  # a stored range ends at or after one of these pushes
        if heads:  # or a stored deployment ran one of these heads, never seen pushed before
            late = or_(late, and_(E.pushed_at.is_(None), E.sha.in_(heads)))
        deployed = select(func.min(E.at)).where(E.source_id == source_id, E.type == DEPLOYMENT, E.counted, late)
        found = session.scalar(deployed)
        if found is not None:
            starts.append(found)
    return min(starts) if starts else None


def link_changes(session: Session, starts: Mapping[str, datetime | None]) -> int:
    """Relink each source's changes from its start time on (None: its whole history).

    Returns how many rows changed.
    """
    return sum(_link(session, source_id, start) for source_id, start in sorted(starts.items()))


def _link(session: Session, source_id: str, start: datetime | None) -> int:
    push = aliased(E, name="push")
    # When the deployed sha was first pushed: the (source_id, head, pushed_at) index.
    upper = (
        select(func.min(push.pushed_at))
        .where(push.source_id == source_id, push.head == E.sha)
        .scalar_subquery()
        .label("upper")
    )
    # The ref of that push: only changes pushed to it count (bot/domain/lead_time.py).
    ref = (
        select(push.name)
        .where(push.source_id == source_id, push.head == E.sha)
        .order_by(push.pushed_at, push.id)
        .limit(1)
        .scalar_subquery()
        .label("ref")
    )
    deployed = select(E.id, E.at, upper, ref, E.pushed_at).where(
        E.source_id == source_id, E.type == DEPLOYMENT, E.counted
    )
    if start is not None:
        # The deployments from ``start`` on and, in the same statement, the one before them.
        before = (
            select(func.max(E.at))
            .where(E.source_id == source_id, E.type == DEPLOYMENT, E.counted, E.at < start)
            .scalar_subquery()
        )
        deployed = deployed.where(E.at >= func.coalesce(before, start))
    found = session.execute(deployed.order_by(E.at, E.id)).all()
    earlier = [r for r in found if start is not None and r.at < start]
    predecessor = Deployed(earlier[-1].id, earlier[-1].at, earlier[-1].upper, earlier[-1].ref) if earlier else None
    deployments = [Deployed(r.id, r.at, r.upper, r.ref) for r in found if start is None or r.at >= start]
    ranges = [{"row": r.id, "pushed": r.upper} for r in found if r.upper != r.pushed_at]

    lower = lower_bound(predecessor)
    changes = select(E.id, E.pushed_at, E.at, E.deployed_at, E.name).where(
        E.source_id == source_id, E.type == CHANGE, E.pushed_at.is_not(None)
    )
    if lower is not None:
        changes = changes.where(E.pushed_at > lower)
    query: Executable = changes
    if start is not None:
        # The changes the loaded ranges can hold, and those linked to a loaded deployment before
        # (their link may be stale): two ranges of two indexes, in one statement.
        uppers = [d.upper for d in deployments if d.upper is not None]
        linked = changes.where(E.deployed_at >= start)
        query = linked.union(changes.where(E.pushed_at <= max(uppers))) if uppers else linked
    rows = session.execute(query).all()
    shipped = first_shipped(deployments, (Pushed(r.id, r.pushed_at, r.name) for r in rows), predecessor)
    links = []
    for r in rows:
        by = shipped.get(r.id)
        deployed_at = by.at if by else None
        if deployed_at != r.deployed_at:
            lead = (deployed_at - r.at).total_seconds() if deployed_at else None
            links.append({"row": r.id, "deployed": deployed_at, "lead": lead})
    table = SignalEventRow.__table__
    assert isinstance(table, Table)
    where = table.c.id == bindparam("row")
    if links:
        stmt = update(table).where(where).values(deployed_at=bindparam("deployed"), lead_seconds=bindparam("lead"))
        session.connection().execute(stmt, links)
    if ranges:
        session.connection().execute(update(table).where(where).values(pushed_at=bindparam("pushed")), ranges)
    return len(links) + len(ranges)


def follow_later_pushes(session: Session, stored: Iterable[tuple[str, Sequence[SignalEvent]]]) -> int:
    """Move changes already stored from a push to one ref to a later push of them to another ref.

    ``stored`` holds, by source id, change events that were NOT inserted because their commit was
    stored before. A merge brings a branch's commits to main again (GitHub lists them in main's
    push, not ``distinct``): they are then main's, pushed when main got them, so that main's
    next deployment ships them. A change a deployment has shipped already stays where it is.
    Returns how many rows moved.
    """
    moves = [
        {"b_source": source_id, "b_sha": e.external_id, "b_ref": e.name, "b_head": e.head, "b_pushed": e.pushed_at}
        for source_id, events in stored
        for e in events
        if e.type is SignalType.CHANGE and e.name is not None and e.pushed_at is not None
    ]
    if not moves:
        return 0
    table = SignalEventRow.__table__
    assert isinstance(table, Table)
    c = table.c
    stmt = (
        update(table)
        .where(
            c.source_id == bindparam("b_source"),
            c.type == CHANGE,
            c.external_id == bindparam("b_sha"),
            c.deployed_at.is_(None),
            c.name.is_not(None),
            c.name != bindparam("b_ref"),
            # Not earlier: a push's time is its head commit's, the same again after a fast-forward.
            c.pushed_at <= bindparam("b_pushed"),
        )
        .values(name=bindparam("b_ref"), head=bindparam("b_head"), pushed_at=bindparam("b_pushed"))
    )
    return rowcount(session.connection().execute(stmt, moves))
