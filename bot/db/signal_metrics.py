"""A channel's delivery metrics, aggregated in SQL (eight or nine statements, whatever the number of events).

Definitions (Four Keys-style; docs in bot/domain/delivery_metrics.py for the bands). The window
is ``now - days <= at <= now``; only ``counted`` deployments (the source's environment) count.

- deployments / failed deployments: in the window.
- lead time: the median of (deployment time - commit time) over the changes whose first
  deployment (bot/domain/lead_time.py: the pushes since the previous deployment's push up to the
  push whose head is the deployed sha) ran in the window; linked when the events are stored
  (bot/db/lead_times.py), non-positive values left out (push-on-merge automation, as Four Keys does).
- change failure rate: (failed + successful deployments whose sha an incident opened or resolved
  in the window names as root cause, in full or by a unique prefix of 7 to 39 hex digits) /
  (successful + failed), in the window.
- time to restore: the median of (resolved - opened) over incidents resolved in the window,
  opened and resolved matched by external id within a source.
- ML: training runs and model deployments in the window; model age is the median, over models,
  of (now - version_at) of the latest model deployment per model, up to now; without a
  version_at (MLflow aliases), the time of the channel's training run of that model and version.
- code review: bot/db/review_metrics.py (one statement); alerts: bot/db/alert_metrics.py (one, two
  when an alert was resolved in the window); model documentation and lineage:
  bot/db/model_doc_metrics.py (one).

- checks: per check name, runs, passed and the latest run (bot/db/check_metrics.py, one).

Medians: PostgreSQL's percentile_cont; on SQLite the middle rows of a sort (bot/db/medians.py).
- checks: per check name, runs, passed and the latest run (bot/db/check_metrics.py).

Medians: PostgreSQL's percentile_cont; on SQLite the middle rows of a sort (``_median``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from bot.db import alert_metrics
from bot.db.check_metrics import checks_of
from bot.db.medians import median as _median
from bot.db.medians import median_time_to_close
from bot.db.medians import seconds_between as _seconds
from bot.db.model_doc_metrics import with_model_documentation
from bot.db.models import SignalEventRow, SignalSource
from bot.db.review_metrics import review_figures
from bot.domain.delivery_metrics import DeliveryMetrics, build_metrics, with_alerts
from bot.domain.signals import SignalType

E = SignalEventRow
DEPLOYMENT = SignalType.DEPLOYMENT.value
FAILED = SignalType.DEPLOYMENT_FAILED.value
CHANGE = SignalType.CHANGE.value
OPENED = SignalType.INCIDENT_OPENED.value
RESOLVED = SignalType.INCIDENT_RESOLVED.value
TRAINING = SignalType.TRAINING_RUN.value
MODEL = SignalType.MODEL_DEPLOYED.value


def has_signals(session: Session, channel_id: str) -> bool:
    """Whether the channel has any signal source (one indexed lookup): surfaces skip it otherwise."""
    return bool(session.scalar(select(exists().where(SignalSource.channel_id == channel_id))))


def channel_metrics(session: Session, channel_id: str, now: datetime, days: int = 90) -> DeliveryMetrics:
    """The channel's delivery metrics over the ``days`` up to ``now``, over all its sources."""
    since = now - timedelta(days=days)
    dialect = session.get_bind().dialect.name
    sources = select(SignalSource.id).where(SignalSource.channel_id == channel_id)
    counts = session.execute(_counts(dialect, sources, since, now)).one()
    metrics = build_metrics(
        days,
        deployments=int(counts.deployments or 0),
        failed_deployments=int(counts.failed or 0),
        caused_incidents=int(counts.caused or 0),
        ever_deployed=bool(counts.ever_deployed),
        lead_time_seconds_p50=_float(session.scalar(_lead_time(dialect, sources, since, now))),
        restore_seconds_p50=_float(session.scalar(_restore(dialect, sources, since, now))),
        training_runs=int(counts.training or 0),
        trained_models=int(counts.models or 0),
        model_deployments=int(counts.model_deployments or 0),
        model_age_seconds_p50=_float(session.scalar(_model_age(dialect, sources, now))),
    )
    metrics = metrics.with_reviews(review_figures(session, sources, since, now))
    metrics = with_alerts(metrics, alert_metrics.channel_alerts(session, sources, since, now))
    metrics = with_model_documentation(session, metrics, sources, since, now)
    return replace(metrics, checks=checks_of(session, sources, since, now))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _restore(dialect: str, sources: Any, since: datetime, now: datetime) -> Select[Any]:
    """Time to restore: incidents resolved in the window, each matched to its opening."""
    return median_time_to_close(dialect, sources, opened=OPENED, closed=RESOLVED, since=since, now=now)


def _in_window(since: datetime, now: datetime) -> ColumnElement[bool]:
    return and_(E.at >= since, E.at <= now)


def _counts(dialect: str, sources: Any, since: datetime, now: datetime) -> Select[Any]:
    # An incident blames a deployment that ran before it was opened: only the window's incidents
    # can name the window's deployments.
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
        func.sum(case((and_(deployed, named_as_root_cause(dialect, sources, since)), 1), else_=0)).label("caused"),
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


MIN_SHORT_SHA = 7  # git's default abbreviation; GitLab shows 8
FULL_SHA = 40  # SHA-1; a root cause this long or longer names a sha whole


def _is_hex(dialect: str, value: Any) -> ColumnElement[bool]:
    """Lower-case hex digits only (root causes are stored lower-cased)."""
    sqlite: ColumnElement[bool] = ~value.bool_op("GLOB")("*[^0-9a-f]*")
    postgresql: ColumnElement[bool] = value.bool_op("~")("^[0-9a-f]+$")
    return sqlite if dialect == "sqlite" else postgresql


def named_as_root_cause(dialect: str, sources: Any, since: datetime) -> ColumnElement[bool]:
    """Whether an incident of the window names the deployment row ``E`` as its root cause: by its
    sha as stored, or by a short sha: 7 to 39 hex digits that begin it (as GitLab and git show).

    A short sha that begins two different deployed shas of the channel names neither: git
    refuses an ambiguous short sha too, and blaming both would count one incident twice.

    Cost, per deployment of the window: a whole sha is one hashed IN, as before. A short one
    needs the deployment's first 7 characters among the short root causes' (another hashed IN);
    only a deployment that passes is probed with its own prefixes of the short root causes'
    lengths (a few hashed INs), and only when another deployed sha shares its first 7
    characters (the set of such prefixes is read once, if ever needed) are the channel's
    deployments read for ambiguity.
    """
    cause = aliased(E, name="cause")
    deployment = aliased(E, name="deployment")
    other = aliased(E, name="other")
    length = func.length(cause.root_cause)
    causes = and_(
        cause.source_id.in_(sources),
        cause.type.in_((OPENED, RESOLVED)),
        cause.at >= since,
        cause.root_cause.is_not(None),
    )
    short = and_(causes, length >= MIN_SHORT_SHA, length < FULL_SHA, _is_hex(dialect, cause.root_cause))
    whole = select(cause.root_cause).where(causes)
    shorts = select(cause.root_cause).where(short)
    starts = select(func.substr(cause.root_cause, 1, MIN_SHORT_SHA)).where(short)
    lengths = select(length.label("n")).where(short).distinct().subquery("lengths")
    start = func.substr(E.sha, 1, MIN_SHORT_SHA)
    deployed = (deployment.source_id.in_(sources), deployment.type.in_((DEPLOYMENT, FAILED)))
    # Inline constants: PostgreSQL matches a GROUP BY expression to the selected one as written.
    first = func.substr(deployment.sha, literal_column("1"), literal_column(str(MIN_SHORT_SHA)))
    shared_starts = select(first).where(*deployed).group_by(first).having(func.count(func.distinct(deployment.sha)) > 1)
    spelled = func.substr(E.sha, 1, lengths.c.n)
    ambiguous = (
        exists()
        .where(
            other.source_id.in_(sources),
            other.type.in_((DEPLOYMENT, FAILED)),
            other.sha != E.sha,
            func.substr(other.sha, 1, lengths.c.n) == spelled,
        )
        .correlate_except(other)  # E is two levels up: name it, or it would join a copy of the table
    )
    prefix = exists().where(spelled.in_(shorts), or_(start.not_in(shared_starts), ~ambiguous))
    return or_(E.sha.in_(whole), and_(start.in_(starts), prefix))


def _lead_time(dialect: str, sources: Any, since: datetime, now: datetime) -> Select[Any]:
    # Each change carries the time of the deployment that first shipped it and the lead time,
    # linked when it was stored (bot/db/lead_times.py): one range of the
    # (source_id, type, deployed_at, lead_seconds) index per source.
    leads = (
        select(E.lead_seconds.label("v"))
        .where(
            E.source_id.in_(sources),
            E.type == CHANGE,
            E.deployed_at >= since,
            E.deployed_at <= now,
            E.lead_seconds > 0,
        )
        .subquery("leads")
    )
    return _median(dialect, leads)


def _model_age(dialect: str, sources: Any, now: datetime) -> Select[Any]:
    # The models each source has deployed, then each one's latest deployment up to now: one
    # descending step along the (source_id, type, model, at) index per model, instead of
    # numbering every model deployment of the channel's history.
    models = (
        select(E.source_id, E.model)
        .where(E.source_id.in_(sources), E.type == MODEL, E.at <= now)
        .distinct()
        .subquery("models")
    )
    last = aliased(E, name="last")
    latest = (
        select(last.id)
        .where(last.source_id == models.c.source_id, last.type == MODEL, last.model == models.c.model, last.at <= now)
        .order_by(last.at.desc(), last.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    serving = aliased(E, name="serving")
    # MLflow's alias events carry no version_at: the version was created by the channel's training
    # run of the same model and version (model_version.created), looked up only when it is missing.
    run = aliased(E, name="run")
    created = (
        select(func.min(run.at))
        .where(
            run.source_id.in_(sources),
            run.type == TRAINING,
            run.model == serving.model,
            run.version == serving.version,
            run.at <= now,
        )
        .scalar_subquery()
    )
    version_at = func.coalesce(serving.version_at, created)
    now_value = literal(now, type_=E.at.type)
    ages = (
        select(_seconds(dialect, now_value, version_at).label("v"))
        .select_from(models)
        .join(serving, serving.id == latest)
        .where(version_at.is_not(None))
        .subquery("ages")
    )
    return _median(dialect, ages)
