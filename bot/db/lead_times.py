"""Keeping each change's link to the deployment that first shipped it (bot/domain/lead_time.py).

``signal_events.deployed_at`` and ``lead_seconds`` on a change row are derived: worked out again
from a time on whenever a source's deployments or pushes are stored, in the same transaction,
so the lead-time metric reads them with one indexed aggregate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from bot.db.models import SignalEventRow
from bot.domain.lead_time import Deployed, Pushed, first_shipped, lower_bound, relink_from
from bot.domain.signals import SignalEvent, SignalType

E = SignalEventRow
DEPLOYMENT = SignalType.DEPLOYMENT.value
CHANGE = SignalType.CHANGE.value


def link_stored(session: Session, stored: Iterable[tuple[str, Sequence[SignalEvent]]]) -> int:
    """Relink what newly stored events (source id, its events) can change; returns rows changed."""
    starts: dict[str, datetime] = {}
    for source_id, events in stored:
        start = relink_from(events)
        if start is not None:
            starts[source_id] = min(start, starts.get(source_id, start))
    return link_changes(session, starts)


def link_changes(session: Session, starts: Mapping[str, datetime | None]) -> int:
    """Relink each source's changes from its start time on (None: its whole history).

    Returns how many change rows changed.
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
    deployed = select(E.id, E.at, upper).where(E.source_id == source_id, E.type == DEPLOYMENT, E.counted)
    predecessor = None
    if start is not None:
        row = session.execute(deployed.where(E.at < start).order_by(E.at.desc(), E.id.desc()).limit(1)).first()
        predecessor = Deployed(row.id, row.at, row.upper) if row else None
        deployed = deployed.where(E.at >= start)
    deployments = [Deployed(r.id, r.at, r.upper) for r in session.execute(deployed.order_by(E.at, E.id))]
    lower = lower_bound(predecessor)
    changes = select(E.id, E.pushed_at, E.at, E.deployed_at).where(
        E.source_id == source_id, E.type == CHANGE, E.pushed_at.is_not(None)
    )
    if lower is not None:
        changes = changes.where(E.pushed_at > lower)
    rows = session.execute(changes).all()
    shipped = first_shipped(deployments, (Pushed(r.id, r.pushed_at) for r in rows), predecessor)
    updates = []
    for r in rows:
        by = shipped.get(r.id)
        deployed_at = by.at if by else None
        if deployed_at != r.deployed_at:
            lead = (deployed_at - r.at).total_seconds() if deployed_at else None
            updates.append({"change": r.id, "deployed": deployed_at, "lead": lead})
    if updates:
        table = SignalEventRow.__table__
        assert isinstance(table, Table)
        stmt = (
            update(table)
            .where(table.c.id == bindparam("change"))
            .values(deployed_at=bindparam("deployed"), lead_seconds=bindparam("lead"))
        )
        session.connection().execute(stmt, updates)
    return len(updates)
