"""DORA's bands, the levels each supports, and the metrics' JSON shape; no database."""

from __future__ import annotations

import pytest

from bot.domain.delivery_metrics import (
    ALERTING_CATEGORIES,
    ChangeFailureBand,
    DeploymentFrequencyBand,
    DurationBand,
    Metric,
    TrainingBand,
    bands_of,
    build_metrics,
    change_failure_band,
    deployment_frequency_band,
    duration_band,
    supported_levels,
    training_band,
)


@pytest.mark.parametrize(
    ("per_week", "band"),
    [
        (7.01, DeploymentFrequencyBand.ON_DEMAND),  # more than once a day
        (7.0, DeploymentFrequencyBand.DAILY),  # exactly once a day
        (41 / (90 / 7), DeploymentFrequencyBand.DAILY),  # the issue's "41 deployments in 90 days (daily)"
        (1.0, DeploymentFrequencyBand.DAILY),
        (0.99, DeploymentFrequencyBand.WEEKLY),
        (7 / (730 / 24), DeploymentFrequencyBand.WEEKLY),  # once a month
        (0.2, DeploymentFrequencyBand.MONTHLY),
        (7 / (6 * 730 / 24), DeploymentFrequencyBand.MONTHLY),  # once every six months
        (0.03, DeploymentFrequencyBand.FEWER),
        (0.0, DeploymentFrequencyBand.FEWER),
    ],
)
def test_deployment_frequency_bands(per_week: float, band: DeploymentFrequencyBand) -> None:
    assert deployment_frequency_band(per_week) is band


@pytest.mark.parametrize(
    ("hours", "band"),
    [
        (0.5, DurationBand.HOUR),
        (1, DurationBand.DAY),
        (23.9, DurationBand.DAY),
        (24, DurationBand.WEEK),
        (167.9, DurationBand.WEEK),
        (168, DurationBand.MONTH),
        (729, DurationBand.MONTH),
        (730, DurationBand.HALF_YEAR),
        (4379, DurationBand.HALF_YEAR),
        (4380, DurationBand.LONGER),
    ],
)
def test_duration_bands_follow_four_keys_buckets(hours: float, band: DurationBand) -> None:
    assert duration_band(hours) is band


@pytest.mark.parametrize(
    ("rate", "band"),
    [
        (0.0, ChangeFailureBand.LOW),
        (0.15, ChangeFailureBand.LOW),
        (0.16, ChangeFailureBand.MEDIUM),
        (0.45, ChangeFailureBand.MEDIUM),
        (0.46, ChangeFailureBand.HIGH),
        (1.0, ChangeFailureBand.HIGH),
    ],
)
def test_change_failure_bands(rate: float, band: ChangeFailureBand) -> None:
    assert change_failure_band(rate) is band


def test_training_bands() -> None:
    assert [training_band(r) for r in (4, 1, 0.34, 0.2)] == list(TrainingBand)


def test_every_band_supports_one_or_two_neighbouring_levels_and_better_bands_never_less() -> None:
    for metric in Metric:
        spans = [supported_levels(metric, band) for band in bands_of(metric)]
        assert all(1 <= low <= high <= 4 and high - low <= 1 for low, high in spans)
        assert spans == sorted(spans, reverse=True), metric
        assert spans[0][1] == 4
        # An alerting band says alerts of the kind exist, so none supports level 1 (SUPPORTED_LEVELS).
        assert spans[-1][0] == (2 if metric in ALERTING_CATEGORIES else 1), metric


def test_supported_levels_of_the_issues_example() -> None:
    assert supported_levels("deployment_frequency", "daily") == (3, 4)
    assert supported_levels(Metric.LEAD_TIME, DurationBand.DAY) == (3, 4)
    assert supported_levels(Metric.TIME_TO_RESTORE, "under an hour") == (4, 4)


def test_unknown_metric_or_band_is_named() -> None:
    with pytest.raises(ValueError, match="unknown metric 'velocity'"):
        supported_levels("velocity", "daily")
    with pytest.raises(ValueError, match="'daily' is not a band of change_failure_rate"):
        supported_levels(Metric.CHANGE_FAILURE_RATE, "daily")


def test_build_metrics_turns_counts_into_rates_and_bands() -> None:
    m = build_metrics(
        90,
        deployments=41,
        failed_deployments=4,
        caused_incidents=5,
        ever_deployed=True,
        lead_time_seconds_p50=6 * 3600,
        restore_seconds_p50=30 * 60,
        training_runs=12,
        trained_models=2,
        model_deployments=3,
        model_age_seconds_p50=10 * 86400,
    )
    data = m.as_json_dict()
    assert data["deployment_frequency_per_week"] == pytest.approx(41 / (90 / 7), abs=1e-4)
    assert data["deployment_frequency_band"] == "daily"
    assert data["lead_time_hours_p50"] == 6 and data["lead_time_band"] == "under a day"
    assert data["change_failure_rate"] == pytest.approx(9 / 45) and data["change_failure_band"] == "16-45%"
    assert data["time_to_restore_hours_p50"] == 0.5 and data["time_to_restore_band"] == "under an hour"
    assert data["training_runs_per_month_per_model"] == pytest.approx(12 / (90 / (730 / 24)) / 2, abs=1e-4)
    assert data["model_age_days"] == 10
    assert m.levels(Metric.DEPLOYMENT_FREQUENCY) == (3, 4)
    assert m.has_data


def test_a_window_must_hold_a_day() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        build_metrics(
            0,
            deployments=0,
            failed_deployments=0,
            caused_incidents=0,
            ever_deployed=False,
            lead_time_seconds_p50=None,
            restore_seconds_p50=None,
            training_runs=0,
            trained_models=0,
            model_deployments=0,
            model_age_seconds_p50=None,
        )
