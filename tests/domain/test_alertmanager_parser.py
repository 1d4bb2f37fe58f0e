"""Alertmanager notifications (webhook version 4) into alert events, on the documented example."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alertmanager_payloads import alertmanager_example, alertmanager_group

from bot.domain.ingest import alertmanager
from bot.domain.ingest.common import PayloadError
from bot.domain.signals import SignalEvent, SignalType

START = datetime(2020, 1, 1, tzinfo=UTC)
TENURE = "90d88a11bdb4b4b5:2020-01-01T00:00:00+00:00"
CHARGES = "f2fd74298c0e72bb:2020-01-01T00:00:00+00:00"


def test_a_firing_group_is_one_firing_event_per_alert_keyed_by_fingerprint_and_start() -> None:
    parsed = alertmanager.parse(alertmanager_example("firing"), "compass_kind")
    assert parsed.ignored is None
    assert parsed.events == (
        SignalEvent(SignalType.ALERT_FIRING, TENURE, START, name="TestAlert", category="drift"),
        SignalEvent(SignalType.ALERT_FIRING, CHARGES, START, name="TestAlert", category="drift"),
    )


def test_a_resolved_alert_gives_its_firing_and_its_resolution_with_one_id() -> None:
    parsed = alertmanager.parse(alertmanager_example("one_resolved"), "compass_kind")
    resolved_at = datetime(2020, 1, 1, 1, tzinfo=UTC)
    assert [(e.type, e.external_id, e.at) for e in parsed.events] == [
        (SignalType.ALERT_FIRING, TENURE, START),
        (SignalType.ALERT_RESOLVED, TENURE, resolved_at),
        (SignalType.ALERT_FIRING, CHARGES, START),
    ]


def test_a_later_firing_of_the_same_alert_is_a_new_alert() -> None:
    again = alertmanager_example("firing")
    again["alerts"][0]["startsAt"] = "2020-01-02T08:30:00.123456789Z"  # Go's nanoseconds
    (first, *_), (second, *_) = (
        alertmanager.parse(alertmanager_example("firing"), "compass_kind").events,
        alertmanager.parse(again, "compass_kind").events,
    )
    assert first.external_id != second.external_id
    assert second.at == datetime(2020, 1, 2, 8, 30, 0, 123456, tzinfo=UTC)


def test_the_category_is_the_sources_label_in_any_case_and_none_without_it() -> None:
    payload = alertmanager_group(2, kind=None)
    payload["alerts"][0]["labels"]["team_signal"] = "Model_Quality"
    del payload["alerts"][1]["labels"]["alertname"]
    first, second = alertmanager.parse(payload, "team_signal").events
    assert (first.category, first.name) == ("model_quality", "HighErrorRate")
    assert (second.category, second.name) == (None, None)


def test_a_notification_without_alerts_is_ignored() -> None:
    payload = alertmanager_example()
    payload["alerts"] = []
    assert alertmanager.parse(payload, "compass_kind").ignored == "a notification without alerts"


@pytest.mark.parametrize("version", ["3", "5", None])
def test_another_version_is_refused_naming_version(version: object) -> None:
    payload = alertmanager_example()
    if version is None:
        del payload["version"]
    else:
        payload["version"] = version
    with pytest.raises(PayloadError, match=r"^version: ") as raised:
        alertmanager.parse(payload, "compass_kind")
    assert raised.value.field == "version"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("startsAt"), "alerts[1].startsAt: missing"),
        (lambda a: a.update(startsAt="yesterday"), "alerts[1].startsAt: not an ISO 8601 time"),
        (lambda a: a.pop("fingerprint"), "alerts[1].fingerprint: missing"),
        (lambda a: a.update(status="pending"), "alerts[1].status: 'pending' is neither firing nor resolved"),
        (lambda a: a.update(labels=["alertname"]), "alerts[1].labels: not an object"),
        (lambda a: a.update(status="resolved"), "alerts[1].endsAt: no end time on a resolved alert"),
        (
            lambda a: a.update(status="resolved", endsAt="2019-12-31T23:00:00Z"),
            "alerts[1].endsAt: before startsAt",
        ),
    ],
)
def test_a_bad_alert_is_named_by_its_place(change: object, message: str) -> None:
    payload = alertmanager_example()
    change(payload["alerts"][1])  # type: ignore[operator]
    with pytest.raises(PayloadError) as raised:
        alertmanager.parse(payload, "compass_kind")
    assert str(raised.value) == message


def test_an_alert_that_is_not_an_object_and_a_body_that_is_not_are_refused() -> None:
    payload = alertmanager_example()
    payload["alerts"][0] = "TestAlert"
    with pytest.raises(PayloadError, match=r"^alerts\[0\]: not an object$"):
        alertmanager.parse(payload, "compass_kind")
    with pytest.raises(PayloadError, match=r"^body: not a JSON object$"):
        alertmanager.parse([payload], "compass_kind")


def test_a_group_of_a_hundred_alerts_gives_a_hundred_events() -> None:
    assert len(alertmanager.parse(alertmanager_group(100), "compass_kind").events) == 100
    assert len(alertmanager.parse(alertmanager_group(100, resolved=True), "compass_kind").events) == 200
