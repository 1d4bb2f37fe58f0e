"""Alert metrics against hand-computed figures, on SQLite and PostgreSQL.

One channel with an Alertmanager source, and another channel whose alerts must never count.
Times are offsets from NOW; the expected figures are worked out in comments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from bot.db import signal_metrics
from bot.db.people import workspace_id
from bot.db.setup import Database
from bot.db.signals import Source, add_events, add_source
from bot.domain.alert_metrics import AlertingBand, CategoryAlerts
from bot.domain.delivery_metrics import DeliveryMetrics, DurationBand, Metric
from bot.domain.measured import measurements
from bot.domain.signals import SignalEvent, SignalType, SourceKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0TEAM"
OTHER = "C0OTHER"


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


def alert(
    key: str, category: str | None, fired: datetime | None, resolved: datetime | None = None
) -> list[SignalEvent]:
    events = []
    if fired is not None:
        events.append(SignalEvent(SignalType.ALERT_FIRING, key, fired, name=f"Alert{key}", category=category))
    if resolved is not None:
        events.append(SignalEvent(SignalType.ALERT_RESOLVED, key, resolved, name=f"Alert{key}", category=category))
    return events


def source(ws: int, sid: str, channel: str = CHANNEL) -> Source:
    return Source(sid, ws, channel, SourceKind.ALERTMANAGER, "sha256:x", "production", "", (), "U1", at(-500))


ALERTS = [
    *alert("1", "drift", at(-10), at(-10, 2)),  # 2 h
    *alert("2", "drift", at(-5)),  # still firing
    *alert("3", "model_quality", at(-40), at(-20)),  # fired before the 30-day window, resolved in it: 480 h
    *alert("4", "service", at(-3), at(-3, 0.5)),  # 0.5 h
    *alert("5", "service", at(-2), at(-1)),  # 24 h
    *alert("6", None, at(-1), at(-1, 6)),  # 6 h, no category: in the totals only
    *alert("7", "canary", at(-200), at(-199)),  # seen within the year, quiet in any window up to 90 days
    *alert("8", "ancient", at(-400), at(-399)),  # more than a year ago: not seen
    *alert("9", "service", at(1)),  # after NOW
    *alert("10", "service", None, at(-4)),  # a resolution whose firing was never reported: no duration
]

ELSEWHERE = [*alert("1", "drift", at(-1), at(-1, 1)), *alert("x", "service", at(-2))]


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        add_events(session, add_source(session, source(ws, "src-am")), ALERTS)
        add_events(session, add_source(session, source(ws, "src-other", channel=OTHER)), ELSEWHERE)
    return database


def metrics(database: Database, days: int) -> DeliveryMetrics:
    with database.sessions.begin() as session:
        return signal_metrics.channel_metrics(session, CHANNEL, NOW, days)


def test_thirty_days_of_alerts(seeded: Database) -> None:
    m = metrics(seeded, 30)
    # fired in the window: 1, 2, 4, 5, 6; resolved: 1, 3, 4, 5, 6, 10
    assert (m.alerts_fired, m.alerts_resolved) == (5, 6)
    # 0.5, 2, 6, 24, 480 h (10 has no firing)
    assert m.alert_time_to_resolve_hours_p50 == pytest.approx(6)
    assert m.alerts_by_category == (
        CategoryAlerts("canary", 0, 0),
        CategoryAlerts("drift", 2, 1),
        CategoryAlerts("model_quality", 0, 1),
        CategoryAlerts("service", 2, 3),
    )
    assert (m.model_alerts_fired, m.model_alerts_resolved) == (2, 2)
    assert m.band(Metric.ALERT_RESOLUTION) is DurationBand.DAY
    assert m.band(Metric.DRIFT_ALERTING) is AlertingBand.RESOLVED
    assert m.band(Metric.MODEL_QUALITY_ALERTING) is AlertingBand.RESOLVED  # a resolution counts alone
    assert m.band(Metric.SERVICE_ALERTING) is AlertingBand.RESOLVED
    as_json = m.as_json_dict()
    assert {k: as_json[k] for k in ("alerts_fired", "alerts_resolved", "alert_time_to_resolve_hours_p50")} == {
        "alerts_fired": 5,
        "alerts_resolved": 6,
        "alert_time_to_resolve_hours_p50": 6.0,
    }
    assert as_json["alerts_by_category"]["drift"] == {"fired": 2, "resolved": 1, "band": "fired and resolved"}
    assert as_json["alerts_by_category"]["canary"] == {"fired": 0, "resolved": 0, "band": "quiet"}
    assert (as_json["model_alerts_fired"], as_json["alert_resolution_band"]) == (2, "under a day")


def test_a_week_of_alerts(seeded: Database) -> None:
    m = metrics(seeded, 7)
    # fired: 2, 4, 5, 6; resolved: 4, 5, 6, 10; durations 0.5, 6, 24 h
    assert (m.alerts_fired, m.alerts_resolved) == (4, 4)
    assert m.alert_time_to_resolve_hours_p50 == pytest.approx(6)
    assert m.alerts_by_category == (
        CategoryAlerts("canary", 0, 0),
        CategoryAlerts("drift", 1, 0),
        CategoryAlerts("model_quality", 0, 0),
        CategoryAlerts("service", 2, 3),
    )
    assert m.band(Metric.DRIFT_ALERTING) is AlertingBand.FIRING
    assert m.band(Metric.MODEL_QUALITY_ALERTING) is AlertingBand.QUIET
    found = measurements(m)
    assert found["drift_alerting"].phrase == "drift alerts: 1 fired, 0 resolved (fired, none resolved)"
    assert found["model_quality_alerting"].phrase == "no model quality alerts in 7 days (quiet)"
    assert found["alert_resolution"].phrase == "4 alerts resolved, median 6 h to resolve (under a day)"


def test_a_channel_without_alerts_has_no_alert_evidence_and_one_statement_more(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        add_events(session, add_source(session, source(ws, "src-am")), alert("1", "service", at(-1)))
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    m = metrics(database, 30)
    assert (m.alerts_fired, m.alerts_resolved, m.alert_time_to_resolve_hours_p50) == (1, 0, None)
    # DORA's and the ML four, code review, model documentation, checks, and the alert counts; no
    # median with nothing resolved
    assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 4 + 3 + 1
    found = measurements(m)
    assert set(found) == {"service_alerting"}  # no drift category: nothing said about drift
    assert m.band(Metric.DRIFT_ALERTING) is None and m.alerts_of("drift") is None


def test_the_statement_count_does_not_grow_with_the_alerts(seeded: Database) -> None:
    statements: list[str] = []
    event.listen(seeded.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    metrics(seeded, 90)
    assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 4 + 3 + 2
