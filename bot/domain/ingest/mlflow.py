"""MLflow model registry webhooks (MLflow 3.3+): model_version.created, model_version_alias.created
and model_version_tag.set.

Envelope (mlflow/webhooks/delivery.py): ``{"entity", "action", "timestamp" (ISO, UTC), "data"}``.
The data of model_version.created is ``name, version, source, run_id, tags, description``
(mlflow/server/handlers.py sends ``run_id`` and ``description`` as null when empty); that of
model_version_tag.set is ``name, version, key, value``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.ingest.common import Parsed, PayloadError, bounded, ignored, mapping, optional, text, time_at
from bot.domain.model_documentation import TRACKED_RUN, documentation_status, is_model_card_tag
from bot.domain.signals import SignalEvent, SignalType


def parse(payload: Any, serving_aliases: Sequence[str]) -> Parsed:
    """The event one MLflow delivery carries.

    A new model version is a training run (it produced a model), marked documented or not and
    linked to its tracked run or not (bot/domain/model_documentation.py). A model-card tag set
    on a version later documents it. A serving alias (``production``, ``champion``: the source's
    ``serving_aliases``, in any case) set on a version is a model deployment. Its ``version_at``
    is left None: the version's creation is the ``model_version.created`` event of the same model
    and version, which the metrics join on.

    Raises:
        PayloadError: a field the event needs is missing or malformed.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError("body", "not a JSON object")
    event = f"{text(payload, 'entity')}.{text(payload, 'action')}"
    mapping(payload, "data")
    if event == "model_version.created":
        return Parsed((_version_created(payload),))
    if event == "model_version_tag.set":
        return _tag_set(payload)
    if event == "model_version_alias.created":
        alias = text(payload, "data.alias")
        if alias.casefold() not in {a.casefold() for a in serving_aliases}:
            return ignored(f"alias {alias!r} is not a serving alias ({', '.join(serving_aliases)})")
        model, version = text(payload, "data.name"), text(payload, "data.version")
        at = time_at(payload, "timestamp")
        external_id = f"{model}@{alias}:{version}:{at.isoformat()}"
        return Parsed((SignalEvent(SignalType.MODEL_DEPLOYED, bounded(external_id), at, model=model, version=version),))
    return ignored(f"event {event!r} is not read by Compass")


def _version_created(payload: Any) -> SignalEvent:
    model, version = text(payload, "data.name"), text(payload, "data.version")
    at = time_at(payload, "timestamp")
    data = payload["data"]
    run_id = optional(payload, "data.run_id")
    tracked = isinstance(run_id, str) and bool(run_id.strip())
    return SignalEvent(
        SignalType.TRAINING_RUN,
        bounded(f"{model}/{version}"),
        at,
        model=model,
        version=version,
        status=documentation_status(data.get("description"), data.get("tags")),
        category=TRACKED_RUN if tracked else None,
    )


def _tag_set(payload: Any) -> Parsed:
    # Only model-card tags are read, so any other tag (or one without a key) is simply ignored.
    key, value = optional(payload, "data.key"), optional(payload, "data.value")
    if not is_model_card_tag(key, value):
        return ignored(f"tag {key!r} is not a model card (model_card, model-card, documentation, ...)")
    model, version = text(payload, "data.name"), text(payload, "data.version")
    at = time_at(payload, "timestamp")
    event = SignalEvent(
        SignalType.MODEL_DOCUMENTED, bounded(f"{model}/{version}"), at, model=model, version=version, name=key[:255]
    )
    return Parsed((event,))
