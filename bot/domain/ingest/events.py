"""The generic events API: any CI (Jenkins, CircleCI, Argo) or a pipeline step with curl.

A JSON object, or a JSON array of objects, each::

    {"type": "deployment", "id": "build-1234", "at": "2026-11-30T14:05:00Z", "service": "churn-api",
     "sha": "9f1c...", "environment": "production"}

Fields per type (besides ``type``, ``id`` and ``at``, always required; ``service`` optional,
kept in the raw delivery only):

- ``deployment``, ``deployment_failed``: ``sha`` (required), ``environment`` (optional: absent
  means the source's own)
- ``change``: ``sha`` (required), ``head`` and ``pushed_at`` (optional)
- ``incident_opened``, ``incident_resolved``: ``root_cause`` (optional, a sha)
- ``training_run``: ``model`` (required)
- ``model_deployed``: ``model`` and ``version`` (required), ``version_created_at`` (optional)
- ``check``: ``check`` (its name) and ``status`` (``passed`` or ``failed``) required, ``value``
  (optional, a finite number such as a coverage percent); bot/domain/ingest/checks.py
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.ingest import checks
from bot.domain.ingest.common import Parsed, PayloadError, bounded, optional, parse_time, text, time_at
from bot.domain.signals import SignalEvent, SignalType

MAX_EVENTS = 1000  # per request; a larger backfill goes through `compass signals import`

_REQUIRED: dict[SignalType, tuple[str, ...]] = {
    SignalType.DEPLOYMENT: ("sha",),
    SignalType.DEPLOYMENT_FAILED: ("sha",),
    SignalType.CHANGE: ("sha",),
    SignalType.INCIDENT_OPENED: (),
    SignalType.INCIDENT_RESOLVED: (),
    SignalType.TRAINING_RUN: ("model",),
    SignalType.MODEL_DEPLOYED: ("model", "version"),
    SignalType.CHECK: (),  # checks.from_event reads its fields
}


def parse(payload: Any) -> Parsed:
    """The events of one request: an object or an array of objects.

    Raises:
        PayloadError: naming the field, prefixed ``[i].`` for the i-th object of an array.
    """
    if isinstance(payload, list):
        if not payload:
            raise PayloadError("body", "an empty array")
        if len(payload) > MAX_EVENTS:
            raise PayloadError("body", f"more than {MAX_EVENTS} events")
        events = []
        for index, item in enumerate(payload):
            try:
                events.append(parse_event(item))
            except PayloadError as exc:
                raise PayloadError(f"[{index}].{exc.field}", exc.problem) from None
        return Parsed(tuple(events))
    return Parsed((parse_event(payload),))


def parse_event(item: Any) -> SignalEvent:
    """One event object."""
    if not isinstance(item, Mapping):
        raise PayloadError("event", "not a JSON object")
    name = text(item, "type")
    # Alerts, reviews and model cards come only from their senders' webhooks, with their own shapes.
    kind = next((t for t in _REQUIRED if t.value == name), None)
    if kind is None:
        raise PayloadError("type", f"{name!r} is not one of {', '.join(t.value for t in _REQUIRED)}")
    external_id = bounded(text(item, "id"))
    at = time_at(item, "at")
    if kind is SignalType.CHECK:
        return checks.from_event(item, external_id, at)
    values = {field: text(item, field) for field in _REQUIRED[kind]}
    if kind in (SignalType.DEPLOYMENT, SignalType.DEPLOYMENT_FAILED):
        environment = text(item, "environment") if optional(item, "environment") is not None else None
        return SignalEvent(kind, external_id, at, environment=environment, sha=values["sha"].lower())
    if kind is SignalType.CHANGE:
        head = text(item, "head").lower() if optional(item, "head") is not None else None
        pushed = optional(item, "pushed_at")
        pushed_at = parse_time(pushed, "pushed_at") if pushed is not None else None
        return SignalEvent(kind, external_id, at, sha=values["sha"].lower(), head=head, pushed_at=pushed_at)
    if kind in (SignalType.INCIDENT_OPENED, SignalType.INCIDENT_RESOLVED):
        cause = text(item, "root_cause").lower() if optional(item, "root_cause") is not None else None
        return SignalEvent(kind, external_id, at, root_cause=cause)
    if kind is SignalType.TRAINING_RUN:
        return SignalEvent(kind, external_id, at, model=values["model"])
    created = optional(item, "version_created_at")
    version_at = parse_time(created, "version_created_at") if created is not None else None
    return SignalEvent(kind, external_id, at, model=values["model"], version=values["version"], version_at=version_at)
