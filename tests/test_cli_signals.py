"""`compass signals show` through the real command, on a SQLite file holding one channel's signals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SHIPPED_BANK

from bot.cli.main import main
from bot.db.people import workspace_id
from bot.db.setup import open_database
from bot.db.signals import Source, add_events, add_source
from bot.domain.signals import SignalEvent, SignalType, SourceKind

CHANNEL = "C0TEAM"
KEYS = {
    "window_days",
    "deployments",
    "failed_deployments",
    "deployment_frequency_per_week",
    "deployment_frequency_band",
    "lead_time_hours_p50",
    "lead_time_band",
    "change_failure_rate",
    "change_failure_band",
    "time_to_restore_hours_p50",
    "time_to_restore_band",
    "training_runs",
    "model_deployments",
    "model_age_days",
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    url = f"sqlite:///{tmp_path / 'compass.db'}"
    now = datetime.now(UTC)
    ago = lambda days, hours=0.0: now - timedelta(days=days, hours=hours)  # noqa: E731
    events = [
        SignalEvent(SignalType.CHANGE, "a1", ago(3, 5), sha="a1", head="a1", pushed_at=ago(3, 4)),
        SignalEvent(SignalType.DEPLOYMENT, "d1", ago(3), environment="production", sha="a1"),
        SignalEvent(SignalType.DEPLOYMENT_FAILED, "d2", ago(2), environment="production", sha="b1"),
        SignalEvent(SignalType.DEPLOYMENT, "d3", ago(1), environment="staging", sha="b1"),
        SignalEvent(SignalType.TRAINING_RUN, "r1", ago(5), model="churn"),
    ]
    database = open_database(url)
    try:
        with database.sessions.begin() as session:
            ws = workspace_id(session, "T0TEAM", now)
            source = Source("src-1", ws, CHANNEL, SourceKind.EVENTS, "sha256:x", "production", "train", (), "U1", now)
            add_source(session, source)
            add_events(session, source, events)
    finally:
        database.dispose()
    return {"DATABASE_URL": url, "HOME": str(tmp_path), "COMPASS_QUESTIONS": str(SHIPPED_BANK), "COLUMNS": "100"}


def compass(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_json_has_every_metric_and_its_band(env: dict[str, str | None]) -> None:
    result = compass(env, "signals", "show", "--channel", CHANNEL, "--days", "30", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= KEYS
    assert data["channel"] == CHANNEL
    assert (data["window_days"], data["deployments"], data["failed_deployments"]) == (30, 1, 1)
    assert data["deployment_frequency_per_week"] == pytest.approx(7 / 30, abs=1e-4)
    assert data["deployment_frequency_band"] == "weekly"
    assert data["lead_time_hours_p50"] == pytest.approx(5) and data["lead_time_band"] == "under a day"
    assert data["change_failure_rate"] == 0.5 and data["change_failure_band"] == "46% or more"
    assert data["time_to_restore_hours_p50"] is None and data["time_to_restore_band"] is None
    assert (data["training_runs"], data["model_deployments"], data["model_age_days"]) == (1, 0, None)


def test_human_output_is_one_line_per_metric_with_no_data_where_none(env: dict[str, str | None]) -> None:
    result = compass(env, "signals", "show", "--channel", CHANNEL)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Delivery signals for {CHANNEL}, last 90 days"
    shown = {line[:28].strip(): line[28:].strip() for line in lines[1:]}
    assert shown["Deployment frequency"] == "0.1 per week (monthly), 1 deployment"
    assert shown["Lead time (median)"] == "5.0 h (under a day)"
    assert shown["Change failure rate"] == "50% (46% or more), 1 failed deployment"
    assert shown["Time to restore (median)"] == "no data"
    assert shown["Model age (median)"] == "no data"


def test_a_channel_without_sources_is_an_error(env: dict[str, str | None]) -> None:
    result = CliRunner().invoke(main, ["signals", "show", "--channel", "C0NONE"], env=env)

    assert result.exit_code == 1
    assert "C0NONE has no signal sources" in result.stderr
