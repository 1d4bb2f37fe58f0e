"""What a team's alerts say about the monitoring questions of the shipped bank."""

from __future__ import annotations

from pathlib import Path

from bot.domain.alert_metrics import AlertFigures, CategoryAlerts, by_category
from bot.domain.delivery_metrics import DeliveryMetrics, Metric, supported_levels, with_alerts
from bot.domain.evidence import weigh
from bot.domain.measured import measurements
from bot.domain.questionnaire import load_questionnaire

BANK = load_questionnaire(Path(__file__).resolve().parents[2] / "questions.json")


def levels(question_id: str, metrics: DeliveryMetrics) -> tuple[int, int] | None:
    evidence = weigh(BANK.question(question_id).evidence, measurements(metrics), "C0TEAM", metrics.window_days)
    return None if evidence is None else (evidence.low, evidence.high)


def team(*categories: CategoryAlerts, p50_hours: float | None = None) -> DeliveryMetrics:
    fired = sum(c.fired for c in categories)
    resolved = sum(c.resolved for c in categories)
    seconds = None if p50_hours is None else p50_hours * 3600
    return with_alerts(DeliveryMetrics(90), AlertFigures(fired, resolved, seconds, categories))


def test_drift_alerts_that_fire_and_get_resolved_support_level_three_or_more() -> None:
    assert levels("monitoring.drift", team(CategoryAlerts("drift", 4, 3), p50_hours=5)) == (3, 4)
    assert levels("monitoring.drift", team(CategoryAlerts("drift", 4, 0))) == (2, 3)
    assert levels("monitoring.drift", team(CategoryAlerts("drift", 0, 0))) == (2, 3)  # quiet


def test_no_drift_category_says_nothing_about_drift() -> None:
    service_only = team(CategoryAlerts("service", 9, 9), p50_hours=0.5)
    assert levels("monitoring.drift", service_only) is None
    assert levels("monitoring.model_performance", service_only) is None
    assert levels("monitoring.service_health", service_only) == (3, 4)


def test_alert_time_to_resolve_informs_incident_response_beside_time_to_restore() -> None:
    assert levels("monitoring.incident_response", team(CategoryAlerts("service", 3, 3), p50_hours=0.5)) == (3, 4)
    assert levels("monitoring.incident_response", team(CategoryAlerts("service", 3, 3), p50_hours=24 * 10)) == (1, 2)
    assert supported_levels(Metric.ALERT_RESOLUTION, "under an hour") == (3, 4)  # fast alone is not learning


def test_model_alerts_are_drift_and_model_quality_together() -> None:
    m = team(*by_category([("drift", False, 2), ("drift", True, 1), ("model_quality", True, 4), ("service", False, 7)]))
    assert (m.model_alerts_fired, m.model_alerts_resolved) == (2, 5)
    assert m.as_json_dict()["alerts_by_category"]["model_quality"] == {
        "fired": 0,
        "resolved": 4,
        "band": "fired and resolved",
    }
