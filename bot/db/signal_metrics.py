"""A channel's delivery metrics, aggregated in SQL (four statements, whatever the number of events).

Definitions (Four Keys-style; docs in bot/domain/delivery_metrics.py for the bands). The window
is ``now - days <= at <= now``; only ``counted`` deployments (the source's environment) count.

- deployments / failed deployments: in the window.
- lead time: for each successful deployment in the window, its commits are the changes (same
  source) pushed after the push whose head was the previous successful deployment's sha (or after
  that deployment, when its push is unknown; from the start when there is none) up to and with the
  push whose head is the deployed sha; the median of (deployment time - commit time) over them,
  non-positive values left out (push-on-merge automation, as Four Keys does).
- change failure rate: (failed + successful deployments whose sha an incident names as root
  cause) / (successful + failed), in the window.
- time to restore: the median of (resolved - opened) over incidents resolved in the window,
  opened and resolved matched by external id within a source.
- ML: training runs and model deployments in the window; model age is the median, over models,
  of (now - version_at) of the latest model deployment per model, up to now; without a
  version_at (MLflow aliases), the time of the channel's training run of that model and version.

Medians use ROW_NUMBER/COUNT windows, which both SQLite and PostgreSQL have.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session, aliased

from bot.db.models import SignalEventRow, SignalSource
from bot.domain.delivery_metrics import DeliveryMetrics, build_metrics
from bot.domain.signals import SignalType

E = SignalEventRow
DEPLOYMENT = SignalType.DEPLOYMENT.value
FAILED = SignalType.DEPLOYMENT_FAILED.value
CHANGE = SignalType.CHANGE.value
OPENED = SignalType.INCIDENT_OPENED.value
RESOLVED = SignalType.INCIDENT_RESOLVED.value
TRAINING = SignalType.TRAINING_RUN.value
MODEL = SignalType.MODEL_DEPLOYED.value
THE_START = datetime(1970, 1, 1, tzinfo=UTC)  # the lower bound of a source's first deployment


def has_signals(session: Session, channel_id: str) -> bool:
    """Whether the channel has any signal source (one indexed lookup): surfaces skip it otherwise."""
    return bool(session.scalar(select(exists().where(SignalSource.channel_id == channel_id))))


def channel_metrics(session: Session, channel_id: str, now: datetime, days: int = 90) -> DeliveryMetrics:
    """The channel's delivery metrics over the ``days`` up to ``now``, over all its sources."""
    since = now - timedelta(days=days)
    dialect = session.get_bind().dialect.name
    sources = select(SignalSource.id).where(SignalSource.channel_id == channel_id)
    counts = session.execute(_counts(sources, since, now)).one()
    return build_metrics(
        days,
        deployments=int(counts.deployments or 0),
        failed_deployments=int(counts.failed or 0),
        caused_incidents=int(counts.caused or 0),
        ever_deployed=bool(counts.ever_deployed),
        lead_time_seconds_p50=_float(session.scalar(_lead_time(dialect, channel_id, sources, since, now))),
        restore_seconds_p50=_float(session.scalar(_restore(dialect, sources, since, now))),
        training_runs=int(counts.training or 0),
        trained_models=int(counts.models or 0),
        model_deployments=int(counts.model_deployments or 0),
        model_age_seconds_p50=_float(session.scalar(_model_age(dialect, sources, now))),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[float]:
    """later - earlier in seconds. SQLite keeps datetimes as ISO text, which julianday reads."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def _in_window(since: datetime, now: datetime) -> ColumnElement[bool]:
    return and_(E.at >= since, E.at <= now)


def _counts(sources: Any, since: datetime, now: datetime) -> Select[Any]:
    root_causes = select(E.root_cause).where(
        E.source_id.in_(sources), E.type.in_((OPENED, RESOLVED)), E.root_cause.is_not(None)
    )
    deployed = and_(E.type == DEPLOYMENT, E.counted)
    ever = (
        select(literal(1))
        .where(E.source_id.in_(sources), E.type.in_((DEPLOYMENT, FAILED)), E.counted, E.at <= now)
        .limit(1)
        .scalar_subquery()
    )
    return select(
        func.sum(case((deployed, 1), else_=0)).label("deployments"),
        func.sum(case((and_(E.type == FAILED, E.counted), 1), else_=0)).label("failed"),
        func.sum(case((and_(deployed, E.sha.in_(root_causes)), 1), else_=0)).label("caused"),
        func.sum(case((E.type == TRAINING, 1), else_=0)).label("training"),
        # training runs without a model name count as one model
        func.count(func.distinct(case((E.type == TRAINING, func.coalesce(E.model, ""))))).label("models"),
        func.sum(case((E.type == MODEL, 1), else_=0)).label("model_deployments"),
        ever.label("ever_deployed"),
    ).where(
        E.source_id.in_(sources),
        E.type.in_((DEPLOYMENT, FAILED, TRAINING, MODEL)),
        _in_window(since, now),
    )


def _median(values: Any) -> Select[Any]:
    """The median of a subquery's column ``v``: the middle row, or the mean of the two middle rows."""
    ranked = select(
        values.c.v,
        func.row_number().over(order_by=values.c.v).label("rn"),
        func.count().over().label("n"),
    ).subquery("ranked")
    # integer division on both databases: n=5 -> rows 3 and 3, n=4 -> rows 2 and 3
    return select(func.avg(ranked.c.v)).where(ranked.c.rn.in_(((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2)))


def _lead_time(dialect: str, channel_id: str, sources: Any, since: datetime, now: datetime) -> Select[Any]:
    push = aliased(E, name="push")
    # The window's successful deployments, plus the last one before the window of each source, so
    # that the first deployment in the window knows its predecessor.
    before = aliased(E, name="before")
    last_before = (
        select(before.id)
        .where(before.source_id == SignalSource.id, before.type == DEPLOYMENT, before.counted, before.at < since)
        .order_by(before.at.desc(), before.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    preceding = select(last_before).where(SignalSource.channel_id == channel_id)
    columns = (E.source_id, E.at, E.id, E.sha)
    chosen = (
        select(*columns)
        .where(E.source_id.in_(sources), E.type == DEPLOYMENT, E.counted, _in_window(since, now))
        .union_all(select(*columns).where(E.id.in_(preceding)))
        .subquery("chosen")
    )
    # When the push whose head is the deployed sha happened (its first push, if pushed again):
    # one indexed lookup per deployment. Only changes have a head; no type filter, which would
    # tempt the planner onto the (source_id, type, pushed_at) index and a scan of every change.
    pushed = (
        select(func.min(push.pushed_at))
        .where(push.source_id == chosen.c.source_id, push.head == chosen.c.sha)
        .scalar_subquery()
    )
    looked_up = select(chosen, pushed.label("upper"))
    if dialect != "sqlite":
        # OFFSET 0: the lookup stays in this subquery, instead of being inlined into both the
        # deployment's bound and the LAG of it (two lookups per deployment).
        looked_up = looked_up.offset(0)
    deployments = looked_up.subquery("deployments")
    d = deployments
    order = (d.c.at, d.c.id)
    previous = (
        select(
            d.c.source_id,
            d.c.at,
            d.c.upper,
            func.lag(d.c.upper).over(partition_by=d.c.source_id, order_by=order).label("prev_upper"),
            func.lag(d.c.at).over(partition_by=d.c.source_id, order_by=order).label("prev_at"),
        )
    ).subquery("previous")
    p = previous
    bounds = (
        select(
            p.c.source_id,
            p.c.at,
            p.c.upper,
            # after the previous deployment's push; after that deployment if its push is unknown
            case(
                (p.c.prev_at.is_(None), literal(THE_START, type_=E.at.type)),
                else_=func.coalesce(p.c.prev_upper, p.c.prev_at),
            ).label("lower"),
        )
        .where(p.c.at >= since)
        .cte("bounds")
        # Computed once per deployment: inlined into the join, SQLite would recompute the push
        # lookups per change and could not bound the index range on both sides.
        .prefix_with("MATERIALIZED")
    )
    change = aliased(E, name="change")
    in_range = and_(
        change.source_id == bounds.c.source_id,
        change.type == CHANGE,
        change.pushed_at > bounds.c.lower,
        change.pushed_at <= bounds.c.upper,
    )
    if dialect == "sqlite":
        lead = _seconds(dialect, bounds.c.at, change.at)
        leads = select(lead.label("v")).select_from(bounds).join(change, in_range).where(lead > 0).subquery("leads")
    else:
        # A lateral range scan of the (source_id, type, pushed_at, at) index per deployment. A
        # plain join leaves the choice to row estimates, which for the CTE are a guess: PostgreSQL
        # then hashes the changes on source_id alone and filters every pair (quadratic). OFFSET 0
        # keeps the planner from pulling the lateral subquery up into that same join.
        lead = _seconds(dialect, bounds.c.at, change.at)
        carried = select(lead.label("v")).where(in_range, lead > 0).offset(0).lateral("carried")
        leads = select(carried.c.v).select_from(bounds).join(carried, literal(True)).subquery("leads")
    return _median(leads)


def _restore(dialect: str, sources: Any, since: datetime, now: datetime) -> Select[Any]:
    opened = aliased(E, name="opened")
    took = _seconds(dialect, E.at, opened.at)
    durations = (
        select(took.label("v"))
        .join(
            opened,
            and_(opened.source_id == E.source_id, opened.type == OPENED, opened.external_id == E.external_id),
        )
        .where(E.source_id.in_(sources), E.type == RESOLVED, _in_window(since, now), took >= 0)
        .subquery("durations")
    )
    return _median(durations)


def _model_age(dialect: str, sources: Any, now: datetime) -> Select[Any]:
    latest = (
        select(
            E.model,
            E.version,
            E.version_at,
            func.row_number()
            .over(partition_by=(E.source_id, E.model), order_by=(E.at.desc(), E.id.desc()))
            .label("rn"),
        )
        .where(E.source_id.in_(sources), E.type == MODEL, E.at <= now)
        .subquery("latest")
    )
    # MLflow's alias events carry no version_at: the version was created by the channel's training
    # run of the same model and version (model_version.created). Looked up only for the latest
    # deployment of each model, and only when version_at is missing.
    run = aliased(E, name="run")
    created = (
        select(run.at).where(run.source_id.in_(sources), run.type == TRAINING, run.at <= now).order_by(run.at).limit(1)
    )
    # OFFSET 0: the lookup is planned over the few latest rows, not over every model deployment
    # (whose estimated cost would have PostgreSQL JIT-compile the statement, ~0.6 s).
    serving = select(latest.c.model, latest.c.version, latest.c.version_at).where(latest.c.rn == 1).offset(0)
    one = serving.subquery("serving")
    created = created.where(run.model == one.c.model, run.version == one.c.version)
    version_at = func.coalesce(one.c.version_at, created.scalar_subquery())
    now_value = literal(now, type_=E.at.type)
    ages = select(_seconds(dialect, now_value, version_at).label("v")).where(version_at.is_not(None)).subquery("ages")
    return _median(ages)
