"""Per-check figures against a hand-computed history, on SQLite and PostgreSQL: one channel with a
GitHub repository and a CI, another channel whose checks never count. Times are offsets from NOW."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from bot.db import check_metrics, signal_metrics
from bot.db.people import workspace_id
from bot.db.setup import Database
from bot.db.signals import Source, add_events, add_source
from bot.domain.check_metrics import CheckBand, CheckFigures
from bot.domain.signals import SignalEvent, SignalType, SourceKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHANNEL, OTHER = "C0TEAM", "C0OTHER"


def at(days: float) -> datetime:
    return NOW + timedelta(days=days)


def run(run_id: str, name: str, days: float, passed: bool = True, value: float | None = None) -> SignalEvent:
    status = "passed" if passed else "failed"
    return SignalEvent(SignalType.CHECK, run_id, at(days), name=name, status=status, value=value)


def source(ws: int, sid: str, kind: SourceKind, channel: str = CHANNEL) -> Source:
    return Source(sid, ws, channel, kind, "secret", "production", "train", (), "U1", at(-400), ("data validation",))


# Data validation: every other day from -1 to -19, 10 runs in 30 days (9 passed: the one at -15
# failed), 2 more at -60 and -61 (both failed), one at -100 outside 90 days and one in the future
# (after NOW): those two never count. The CI adds a failed run at -2 (ALSO_VALIDATION).
VALIDATION = [
    *(run(f"dv-{i}", "Data validation", -1 - 2 * i, passed=i != 7) for i in range(10)),
    run("dv-60", "Data validation", -60, passed=False),
    run("dv-61", "Data validation", -61, passed=False),
    run("dv-100", "Data validation", -100),
    run("dv-future", "Data validation", 1, passed=False),
]
# Coverage from the CI, with values: the latest (at -3) says 83.5 and failed.
COVERAGE = [
    run("cov-1", "coverage", -10, value=79.0),
    run("cov-2", "coverage", -5, value=81.0),
    run("cov-3", "coverage", -3, passed=False, value=83.5),
]
# Another source of the same channel reports the same check name: counted together.
ALSO_VALIDATION = [run("ci-dv", "Data validation", -2, passed=False)]
ELSEWHERE = [run(f"x-{i}", "coverage", -1, value=10.0) for i in range(5)]


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
        ci = add_source(session, source(ws, "src-ci", SourceKind.EVENTS))
        other = add_source(session, source(ws, "src-other", SourceKind.EVENTS, channel=OTHER))
        add_events(session, repo, VALIDATION)
        add_events(session, ci, COVERAGE + ALSO_VALIDATION)
        add_events(session, other, ELSEWHERE)
    return database


def checks(database: Database, days: int) -> dict[str, CheckFigures]:
    with database.sessions.begin() as session:
        return check_metrics.channel_checks(session, CHANNEL, NOW, days)


def test_the_hand_computed_history_is_what_we_think() -> None:
    in_thirty = [e for e in VALIDATION if -30 <= (e.at - NOW).days < 0]
    assert (len(in_thirty), sum(e.status == "passed" for e in in_thirty)) == (10, 9)


def test_thirty_days_per_check(seeded: Database) -> None:
    found = checks(seeded, 30)
    assert list(found) == ["Data validation", "coverage"]  # most runs first
    validation = found["Data validation"]
    # 10 from the repository + 1 failed from the CI at -2; the latest is the repository's at -1.
    assert (validation.runs, validation.passed, validation.last_at, validation.last_status) == (11, 9, at(-1), "passed")
    assert validation.last_value is None
    assert validation.band is CheckBand.FLAKY  # 9/11 = 82 %
    coverage = found["coverage"]
    assert (coverage.runs, coverage.passed, coverage.last_status, coverage.last_value) == (3, 2, "failed", 83.5)
    assert coverage.band is CheckBand.FEW_RUNS


def test_ninety_days_reach_the_older_failures(seeded: Database) -> None:
    validation = checks(seeded, 90)["Data validation"]
    assert (validation.runs, validation.passed) == (13, 9)
    assert round(validation.pass_rate, 4) == round(9 / 13, 4)
    assert validation.band is CheckBand.FLAKY


def test_seven_days(seeded: Database) -> None:
    found = checks(seeded, 7)
    # Data validation at -1, -3, -5, -7 (repository, all passed) and -2 (CI, failed): 5 runs, 4 passed.
    assert (found["Data validation"].runs, found["Data validation"].passed) == (5, 4)
    assert (found["coverage"].runs, found["coverage"].last_value) == (2, 83.5)


def test_the_delivery_metrics_carry_the_checks_in_one_statement(seeded: Database) -> None:
    statements: list[str] = []

    def count(conn: object, cursor: object, sql: str, *args: object) -> None:
        if "signal_events" in sql and "group by signal_events.name" in sql.lower():
            statements.append(sql)

    event.listen(seeded.engine, "before_cursor_execute", count)
    try:
        with seeded.sessions.begin() as session:
            metrics = signal_metrics.channel_metrics(session, CHANNEL, NOW, 30)
    finally:
        event.remove(seeded.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert metrics.has_data
    assert metrics.as_json_dict()["checks"] == {
        "Data validation": {
            "runs": 11,
            "passed": 9,
            "pass_rate": 0.8182,
            "band": "flaky",
            "last_at": at(-1).isoformat(),
            "last_status": "passed",
            "last_value": None,
        },
        "coverage": {
            "runs": 3,
            "passed": 2,
            "pass_rate": 0.6667,
            "band": "few runs",
            "last_at": at(-3).isoformat(),
            "last_status": "failed",
            "last_value": 83.5,
        },
    }


def test_a_channel_without_checks_and_the_cap_on_names(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        ci = add_source(session, source(ws, "src-ci", SourceKind.EVENTS))
        assert check_metrics.channel_checks(session, CHANNEL, NOW) == {}
        add_events(session, ci, [run(f"n-{i}", f"check {i:02d}", -1 - i / 100) for i in range(12)])
        add_events(session, ci, [run("n-extra", "check 11", -2)])
        capped = check_metrics.channel_checks(session, CHANNEL, NOW, limit=3)
    # check 11 has two runs; then the latest first: check 00, check 01.
    assert list(capped) == ["check 11", "check 00", "check 01"]


def test_of_two_runs_at_the_same_time_the_last_stored_is_the_latest(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        ci = add_source(session, source(ws, "src-ci", SourceKind.EVENTS))
        add_events(session, ci, [run("t-1", "coverage", -1, value=70.0), run("t-2", "coverage", -1, False, 71.0)])
        found = check_metrics.channel_checks(session, CHANNEL, NOW)
    assert (found["coverage"].runs, found["coverage"].last_status, found["coverage"].last_value) == (2, "failed", 71.0)
