"""MLflow model registry webhooks (MLflow 3.3+): model_version.created and model_version_alias.created.

Envelope (mlflow/webhooks/delivery.py): ``{"entity", "action", "timestamp" (ISO, UTC), "data"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.ingest.common import Parsed, PayloadError, bounded, ignored, mapping, text, time_at
from bot.domain.signals import SignalEvent, SignalType


def parse(payload: Any, serving_aliases: Sequence[str]) -> Parsed:
    """The event one MLflow delivery carries.

    A new model version is a training run (it produced a model). A serving alias
    (``production``, ``champion``: the source's ``serving_aliases``, in any case) set on a
    version is a model deployment. Its ``version_at`` is left None: the version's creation is
    the ``model_version.created`` event of the same model and version, which the metrics join on.

    Raises:
        PayloadError: a field the event needs is missing or malformed.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError("body", "not a JSON object")
    event = f"{text(payload, 'entity')}.{text(payload, 'action')}"
    mapping(payload, "data")
    if event == "model_version.created":
        model, version = text(payload, "data.name"), text(payload, "data.version")
        at = time_at(payload, "timestamp")
        return Parsed(
            (SignalEvent(SignalType.TRAINING_RUN, bounded(f"{model}/{version}"), at, model=model, version=version),)
        )
    if event == "model_version_alias.created":
        alias = text(payload, "data.alias")
        if alias.casefold() not in {a.casefold() for a in serving_aliases}:
            return ignored(f"alias {alias!r} is not a serving alias ({', '.join(serving_aliases)})")
        model, version = text(payload, "data.name"), text(payload, "data.version")
        at = time_at(payload, "timestamp")
        external_id = f"{model}@{alias}:{version}:{at.isoformat()}"
        return Parsed((SignalEvent(SignalType.MODEL_DEPLOYED, bounded(external_id), at, model=model, version=version),))
    return ignored(f"event {event!r} is not read by Compass")
