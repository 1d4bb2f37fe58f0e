"""Model documentation and lineage of a channel's registered model versions, in one statement.

Over the training runs that a model registry reported in the window (MLflow's
model_version.created: those with a documentation status, bot/domain/signals.py), how many were
documented, when registered or by a model-card tag set later (a model_documented event of the
same source, model and version, up to now), and how many were linked to a tracked run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.db.models import SignalEventRow
from bot.domain.delivery_metrics import DeliveryMetrics
from bot.domain.model_documentation import DOCUMENTED, TRACKED_RUN, UNDOCUMENTED
from bot.domain.signals import SignalType

E = SignalEventRow
TRAINING = SignalType.TRAINING_RUN.value
CARD = SignalType.MODEL_DOCUMENTED.value


def with_model_documentation(
    session: Session, metrics: DeliveryMetrics, sources: Any, since: datetime, now: datetime
) -> DeliveryMetrics:
    """``metrics`` with the shares of the versions registered in the window by ``sources`` (a
    subquery of source ids) that are documented and that are linked to a tracked run."""
    card = aliased(E, name="card")
    # One step along the (source_id, type, model, at) index per registered version.
    later_card = exists().where(
        card.source_id == E.source_id,
        card.type == CARD,
        card.model == E.model,
        card.version == E.version,
        card.at <= now,
    )
    documented = or_(E.status == DOCUMENTED, later_card)
    row = session.execute(
        select(
            func.count().label("versions"),
            func.sum(case((documented, 1), else_=0)).label("documented"),
            func.sum(case((E.category == TRACKED_RUN, 1), else_=0)).label("tracked"),
        ).where(
            E.source_id.in_(sources),
            E.type == TRAINING,
            E.status.in_((DOCUMENTED, UNDOCUMENTED)),
            and_(E.at >= since, E.at <= now),
        )
    ).one()
    versions = int(row.versions or 0)
    if not versions:
        return metrics
    return replace(
        metrics,
        model_versions=versions,
        documented_share=int(row.documented or 0) / versions,
        tracked_share=int(row.tracked or 0) / versions,
    )
