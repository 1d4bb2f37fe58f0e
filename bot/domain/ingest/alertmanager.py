"""Prometheus Alertmanager's webhook receiver, payload version 4 (docs/configuration.md, ``<webhook_config>``).

One notification carries a group of alerts, each ``firing`` or ``resolved``. Alertmanager sends
the group again on every change and every ``repeat_interval``, so the same alert arrives many
times: its events are keyed by fingerprint and start time, which both stay the same across
the notifications of one firing (and change when the alert fires again later).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.ingest.common import Parsed, PayloadError, bounded, ignored, items, optional, text, time_at
from bot.domain.signals import SignalEvent, SignalType

VERSION = "4"
NAME_LABEL = "alertname"
NAME_LIMIT = 255  # signal_events.name
CATEGORY_LIMIT = 64  # signal_events.category
_STATUSES = ("firing", "resolved")


def parse(payload: Any, alert_label: str) -> Parsed:
    """The events one Alertmanager notification carries: for each alert, its firing, and its
    resolution when it is resolved (both with the same ``external_id``).

    Args:
        payload: the decoded body.
        alert_label: the label whose value says what an alert concerns (its ``category``:
            drift, model_quality, service, ...); an alert without it has no category.

    Raises:
        PayloadError: another version than 4, or a field an alert needs is missing or malformed,
            named by the alert's place (``alerts[3].startsAt``).
    """
    if not isinstance(payload, Mapping):
        raise PayloadError("body", "not a JSON object")
    version = optional(payload, "version")
    if str(version) != VERSION:
        raise PayloadError("version", f"{version!r}: Compass reads Alertmanager's webhook version {VERSION}")
    alerts = items(payload, "alerts")
    if not alerts:
        return ignored("a notification without alerts")
    events: list[SignalEvent] = []
    for index, alert in enumerate(alerts):
        try:
            events.extend(_alert(alert, alert_label))
        except PayloadError as exc:
            raise PayloadError(
                f"alerts[{index}].{exc.field}" if exc.field else f"alerts[{index}]", exc.problem
            ) from None
    return Parsed(tuple(events))


def _alert(alert: Any, alert_label: str) -> tuple[SignalEvent, ...]:
    if not isinstance(alert, Mapping):
        raise PayloadError("", "not an object")
    status = text(alert, "status").lower()
    if status not in _STATUSES:
        raise PayloadError("status", f"{status!r} is neither firing nor resolved")
    labels = alert.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise PayloadError("labels", "not an object")
    started = time_at(alert, "startsAt")
    # Fingerprint and start: a repeated notification of one firing is the same alert, a later
    # firing of the same rule and labels a new one.
    external_id = bounded(f"{text(alert, 'fingerprint')}:{started.isoformat()}")
    name, category = _label(labels, NAME_LABEL, NAME_LIMIT), _label(labels, alert_label, CATEGORY_LIMIT)
    category = category.casefold() if category else None  # "Drift" and "drift" are one category
    firing = SignalEvent(SignalType.ALERT_FIRING, external_id, started, name=name, category=category)
    if status == "firing":
        return (firing,)
    ended = _end(alert)
    if ended < started:
        raise PayloadError("endsAt", "before startsAt")
    return firing, SignalEvent(SignalType.ALERT_RESOLVED, external_id, ended, name=name, category=category)


def _end(alert: Mapping[str, Any]) -> datetime:
    ended = time_at(alert, "endsAt")
    # Go's zero time, which Alertmanager sends as the end of an alert still firing.
    if ended.year == 1:
        raise PayloadError("endsAt", "no end time on a resolved alert")
    return ended


def _label(labels: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = labels.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]
