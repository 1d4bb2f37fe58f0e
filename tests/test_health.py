"""What /healthz and `compass status` report, read from a real database on each backend."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import SMALL_BANK, T0
from harness import measured

from bot.app import health
from bot.db import migrate
from bot.db.beats import Beater
from bot.db.setup import Database, open_database
from bot.queue.store import QueueStore
from bot.run.watchdog import Watchdog

COMPASS = str(Path(sys.executable).parent / "compass")


def worker_beat(database: Database, at: datetime) -> None:
    QueueStore(database.sessions).beat(Beater("worker:h:1:aa", "worker", "h", 1, T0), at, [], timedelta(seconds=6))


def test_a_quiet_deployment_is_healthy_and_says_what_it_saw(database: Database) -> None:
    report = health.check_health(database.sessions, T0)
    assert report.ok and report.reachable and report.schema == migrate.head_revision()
    assert health.describe(report) == [
        "ok",
        f"database: reachable, schema {report.needed} (this release needs {report.needed})",
        "workers: 0 live (beat in the last 30 s)",
        "queue: 0 waiting, oldest 0 s",
        "scheduler: has not run yet",
    ]


def test_work_waiting_over_30_s_with_no_live_worker_is_unhealthy_until_a_worker_beats(database: Database) -> None:
    QueueStore(database.sessions).append([("command", "T:U1", "{}"), ("command", "T:U2", "{}")], T0)
    assert health.check_health(database.sessions, T0 + timedelta(seconds=30)).ok  # not yet: workers may be busy
    stuck = health.check_health(database.sessions, T0 + timedelta(seconds=31))
    assert stuck.problems == [
        "2 request(s) waiting for 31 s and no worker beat in the last 30 s: start `compass worker`"
    ]
    worker_beat(database, T0 + timedelta(seconds=5))  # beat, then went quiet: dead for 26 s at T0+31
    assert health.check_health(database.sessions, T0 + timedelta(seconds=31)).ok
    assert not health.check_health(database.sessions, T0 + timedelta(seconds=36)).ok


def test_the_scheduler_run_is_shown(database: Database) -> None:
    health.record_beat(database.sessions, Beater("scheduler:h:2:bb", "scheduler", "h", 2, T0), T0)
    report = health.check_health(database.sessions, T0 + timedelta(minutes=4))
    assert report.scheduler_ran_at == T0
    assert health.describe(report)[-1] == "scheduler: last ran 2026-11-02 09:00:00 UTC (4 min ago)"


def test_an_unmigrated_database_is_unhealthy_and_says_to_run_db_upgrade(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'empty.db'}", auto_migrate=False, check_schema=False)
    report = health.check_health(database.sessions, T0)
    database.dispose()
    assert report.reachable and report.schema is None
    assert report.problems == [
        f"database is at revision none; this release needs {report.needed}: run `compass db upgrade`"
    ]


def test_the_watchdog_logs_one_warning_each_time_it_finds_work_stuck(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    QueueStore(database.sessions).append([("command", "T:U1", "{}")], T0)
    watchdog = Watchdog(database.sessions, lambda: T0 + timedelta(minutes=2))
    with caplog.at_level(logging.WARNING, logger="bot.run.watchdog"):
        watchdog.look()
    assert [r.getMessage() for r in caplog.records] == [
        "unhealthy: 1 request(s) waiting for 120 s and no worker beat in the last 30 s: start `compass worker`"
    ]


def status(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), **measured(), "HOME": str(tmp_path), "DATABASE_URL": database_url}
    env["COMPASS_QUESTIONS"] = str(SMALL_BANK)
    return subprocess.run([COMPASS, "status", *args], env=env, capture_output=True, text=True, timeout=60)


def test_compass_status_prints_the_report_and_exits_1_when_unhealthy(database_url: str, tmp_path: Path) -> None:
    database = open_database(database_url)
    QueueStore(database.sessions).append([("command", "T:U1", "{}")], T0)  # queued long ago, nobody took it
    database.dispose()
    result = status(tmp_path, database_url)
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: 1 request(s) waiting for ")
    assert "workers: 0 live" in result.stdout and "queue: 1 waiting" in result.stdout
    as_json = json.loads(status(tmp_path, database_url, "--json").stdout)
    assert as_json["ok"] is False and as_json["queue"]["waiting"] == 1 and as_json["workers"]["live"] == 0


def test_compass_status_reports_an_unreachable_database_instead_of_stopping_at_it(tmp_path: Path) -> None:
    result = status(tmp_path, "postgresql://nobody@127.0.0.1:1/x", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["database"]["reachable"] is False and "Connection refused" in report["database"]["reason"]
