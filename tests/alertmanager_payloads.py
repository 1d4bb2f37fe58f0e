"""Alertmanager notifications (webhook version 4) for the tests and benchmarks: the documented
example in tests/data/webhooks/alertmanager/ (see SOURCES.md), and groups made from it."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "data" / "webhooks" / "alertmanager"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # endsAt of an alert still firing


def alertmanager_example(name: str = "firing") -> dict[str, Any]:
    """A fixture: ``firing`` (two drift alerts firing) or ``one_resolved`` (the first resolved an hour later)."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def alertmanager_group(
    count: int,
    *,
    start: int = 0,
    resolved: bool = False,
    kind: str | None = "service",
    starts_at: str = "2026-11-30T10:00:00Z",
    ends_at: str = "2026-11-30T10:45:00Z",
) -> dict[str, Any]:
    """A notification of ``count`` distinct alerts shaped as the example's, firing or all resolved."""
    payload = alertmanager_example("firing")
    template = payload["alerts"][0]
    alerts = []
    for i in range(start, start + count):
        alert = copy.deepcopy(template)
        labels = {"alertname": "HighErrorRate", "instance": f"churn-api-{i}:8080"}
        if kind is not None:
            labels["compass_kind"] = kind
        alert["labels"] = labels
        alert["fingerprint"] = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        alert["startsAt"] = starts_at
        alert["status"] = "resolved" if resolved else "firing"
        alert["endsAt"] = ends_at if resolved else GO_ZERO_TIME
        alerts.append(alert)
    payload["alerts"] = alerts
    payload["status"] = "resolved" if resolved else "firing"
    payload["groupLabels"] = {"alertname": "HighErrorRate"}
    payload["commonLabels"] = {"alertname": "HighErrorRate", **({"compass_kind": kind} if kind else {})}
    return payload


def alertmanager_headers(token: str) -> dict[str, str]:
    """What Alertmanager sends with ``http_config.authorization`` (type Bearer)."""
    return {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.28.1", "Authorization": f"Bearer {token}"}
