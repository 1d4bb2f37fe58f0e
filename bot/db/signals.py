"""Signal sources, their raw deliveries and the normalised events derived from them.

Functions take the session first and never commit; they return plain records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.db.lead_times import follow_later_pushes, link_stored
from bot.db.models import SignalDelivery, SignalEventRow, SignalSource, Workspace
from bot.db.sql import insert_or_skip, rowcount
from bot.domain.signals import SignalEvent, SignalType, SourceKind


@dataclass(frozen=True)
class Source:
    id: str
    workspace_id: int
    channel_id: str
    kind: SourceKind
    secret: str  # the HMAC secret, or "sha256:<hex>" of a bearer/GitLab token
    environment: str
    training_pattern: str
    serving_aliases: tuple[str, ...]
    created_by: str
    created_at: datetime
    check_patterns: tuple[str, ...] = ()  # workflow names whose runs are checks
    alert_label: str = "compass_kind"  # Alertmanager: the label saying what an alert concerns


def _source(row: SignalSource) -> Source:
    return Source(
        id=row.id,
        workspace_id=row.workspace_id,
        channel_id=row.channel_id,
        kind=SourceKind(row.kind),
        secret=row.secret,
        environment=row.environment,
        training_pattern=row.training_pattern,
        serving_aliases=tuple(a for a in row.serving_aliases.split(",") if a),
        created_by=row.created_by,
        created_at=row.created_at,
        check_patterns=tuple(p for p in (row.check_patterns or "").split(",") if p),
        alert_label=row.alert_label or "compass_kind",
    )


def add_source(session: Session, source: Source) -> Source:
    session.add(
        SignalSource(
            id=source.id,
            workspace_id=source.workspace_id,
            channel_id=source.channel_id,
            kind=source.kind.value,
            secret=source.secret,
            environment=source.environment,
            training_pattern=source.training_pattern,
            serving_aliases=",".join(source.serving_aliases),
            created_by=source.created_by,
            created_at=source.created_at,
            check_patterns=",".join(source.check_patterns),
            alert_label=source.alert_label,
        )
    )
    session.flush()
    return source


def find_source(session: Session, source_id: str) -> Source | None:
    row = session.get(SignalSource, source_id)
    return None if row is None else _source(row)


def sources(session: Session, workspace_id: int | None = None, channel_id: str | None = None) -> list[Source]:
    stmt = select(SignalSource).order_by(SignalSource.created_at, SignalSource.id)
    if workspace_id is not None:
        stmt = stmt.where(SignalSource.workspace_id == workspace_id)
    if channel_id is not None:
        stmt = stmt.where(SignalSource.channel_id == channel_id)
    return [_source(row) for row in session.scalars(stmt)]


def remove_source(session: Session, source_id: str) -> bool:
    """Delete a source with its deliveries and events."""
    session.execute(delete(SignalEventRow).where(SignalEventRow.source_id == source_id))
    session.execute(delete(SignalDelivery).where(SignalDelivery.source_id == source_id))
    return rowcount(session.execute(delete(SignalSource).where(SignalSource.id == source_id))) > 0


def set_secret(session: Session, source_id: str, secret: str) -> bool:
    result = session.execute(update(SignalSource).where(SignalSource.id == source_id).values(secret=secret))
    return rowcount(result) > 0


def record_delivery(
    session: Session,
    source: Source,
    delivery: tuple[str, str, str],
    events: Sequence[SignalEvent],
    now: datetime,
) -> bool:
    """Keep a delivery (delivery id, event name, raw payload) and its normalised events, once.

    Returns False for a delivery id already stored (a redelivery): nothing is written then.
    A deployment to another environment than the source's is stored with ``counted`` False.
    """
    delivery_id, event_name, payload = delivery
    inserted = session.execute(
        insert_or_skip(session, SignalDelivery, ["source_id", "delivery_id"])
        .values(source_id=source.id, delivery_id=delivery_id, event_name=event_name, payload=payload, received_at=now)
        .returning(SignalDelivery.id)
    ).scalar_one_or_none()
    if inserted is None:
        return False
    add_events(session, source, events, inserted)
    return True


def sources_by_id(session: Session, source_ids: Iterable[str]) -> dict[str, Source]:
    """The sources with these ids that exist, by id (one query)."""
    wanted = sorted(set(source_ids))
    if not wanted:
        return {}
    found = session.scalars(select(SignalSource).where(SignalSource.id.in_(wanted)))
    return {row.id: _source(row) for row in found}


NewDelivery = tuple[Source, tuple[str, str, str], Sequence[SignalEvent], datetime]  # source, delivery, events, now


def record_deliveries(session: Session, batch: Sequence[NewDelivery]) -> list[int | None]:
    """``record_delivery`` for many deliveries in two statements (the deliveries, then their events),
    then the links of the changes they can affect (bot/db/lead_times.py).

    Returns, for each delivery in order, how many of its events were new (its other events were
    stored before, by another delivery), or None for a delivery id already stored (before, or
    earlier in the same batch): nothing of that one is written.
    """
    first: dict[tuple[str, str], int] = {}  # (source id, delivery id) -> its first place in the batch
    for place, (source, (delivery_id, _, _), _, _) in enumerate(batch):
        first.setdefault((source.id, delivery_id), place)
    if not first:
        return []
    rows = []
    for key, place in first.items():
        _, (delivery_id, event_name, payload), _, now = batch[place]
        rows.append(
            {
                "source_id": key[0],
                "delivery_id": delivery_id,
                "event_name": event_name,
                "payload": payload,
                "received_at": now,
            }
        )
    # executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs from one cached statement.
    stmt = insert_or_skip(session, SignalDelivery, ["source_id", "delivery_id"]).returning(
        SignalDelivery.id, SignalDelivery.source_id, SignalDelivery.delivery_id
    )
    result = session.connection().execute(stmt, rows)
    inserted = {(source_id, delivery_id): pk for pk, source_id, delivery_id in result}
    stored: list[int | None] = [None] * len(batch)
    kept = [(place, inserted[key]) for key, place in first.items() if key in inserted]
    events: list[dict[str, object]] = [_row(batch[p][0], event, pk) for p, pk in kept for event in batch[p][2]]
    if events:
        new = _insert_events(session, events)
        per_delivery = Counter(key[3] for key in new)
        for place, pk in kept:
            stored[place] = per_delivery[pk]
        follow_later_pushes(
            session, [(batch[p][0].id, _not_new(batch[p][0].id, batch[p][2], new, pk)) for p, pk in kept]
        )
        link_stored(session, [(batch[p][0].id, batch[p][2]) for p, _ in kept])
    else:
        for place, _ in kept:
            stored[place] = 0
    return stored


_EventKey = tuple[str, str, str, int | None]  # source id, type, external id, delivery pk


def _insert_events(session: Session, values: list[dict[str, object]]) -> set[_EventKey]:
    """Insert events, skipping those already stored; returns those inserted (RETURNING, so the
    count is of this very statement, not of a later read)."""
    stmt = insert_or_skip(session, SignalEventRow, ["source_id", "type", "external_id"]).returning(
        SignalEventRow.source_id, SignalEventRow.type, SignalEventRow.external_id, SignalEventRow.delivery_id
    )
    return {(r[0], r[1], r[2], r[3]) for r in session.connection().execute(stmt, values)}


def _not_new(
    source_id: str, events: Sequence[SignalEvent], new: set[_EventKey], delivery_pk: int | None
) -> list[SignalEvent]:
    """The events of one delivery that it did not insert (stored before, or by another delivery)."""
    return [e for e in events if (source_id, e.type.value, e.external_id, delivery_pk) not in new]


def add_events(session: Session, source: Source, events: Sequence[SignalEvent], delivery_pk: int | None = None) -> int:
    """Store normalised events, skipping any already stored (same source, type and id)."""
    if not events:
        return 0
    new = _insert_events(session, [_row(source, event, delivery_pk) for event in events])
    follow_later_pushes(session, [(source.id, _not_new(source.id, events, new, delivery_pk))])
    link_stored(session, [(source.id, events)])
    return len(new)


def _row(source: Source, event: SignalEvent, delivery_pk: int | None) -> dict[str, object]:
    deployment = event.type in (SignalType.DEPLOYMENT, SignalType.DEPLOYMENT_FAILED)
    counted = not deployment or event.environment is None or event.environment == source.environment
    return {
        "source_id": source.id,
        "delivery_id": delivery_pk,
        "type": event.type.value,
        "external_id": event.external_id,
        "at": event.at,
        "counted": counted,
        "environment": event.environment,
        "sha": event.sha,
        "head": event.head,
        "pushed_at": event.pushed_at,
        "root_cause": event.root_cause,
        "model": event.model,
        "version": event.version,
        "version_at": event.version_at,
        "name": event.name,
        "status": event.status,
        "value": event.value,
        "category": event.category,
    }


def slack_workspaces(session: Session) -> list[str]:
    """The Slack team ids Compass has seen (not the local workspace of terminal users)."""
    stmt = select(Workspace.external_id).where(Workspace.external_id != "local").order_by(Workspace.id)
    return list(session.scalars(stmt))


def count_events(session: Session, source_id: str) -> int:
    stmt = select(func.count(SignalEventRow.id)).where(SignalEventRow.source_id == source_id)
    return int(session.scalar(stmt) or 0)
