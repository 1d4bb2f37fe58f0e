"""Benchmark: one channel's delivery metrics over 10k, 100k and 1M stored events (issue 10).

Seeds each scratch database (migrated schema; rows written straight through the driver, with
executemany on SQLite and COPY on PostgreSQL, for set-up speed only) with a history spread
evenly over ``--period-days`` (730: two years, so the 90-day window holds about an eighth of it):
10 % deployments (of which about 10 % failed and 5 % to staging, stored but not counted), about
73 % changes (one to three pushes of one to six commits before each deployment), 2 % incident
events (opened and mostly resolved, half naming one of the ten deployments before), 12 % training
runs and 3 % model deployments over five models. Nine in ten events belong to the measured channel's three sources;
the rest to another channel's. Then times the real code, ``bot.app.delivery.delivery_metrics``
(``signal_metrics.channel_metrics``), in rounds that interleave the sizes, counts its SQL
statements and checks its counts against the generated history.

    .venv/bin/python bench/signal_metrics.py                                  # both backends
    .venv/bin/python bench/signal_metrics.py --backend sqlite --sizes 10000,100000 --repeat 5

Exit status 0 when every target is met (under 200 ms at the largest size, growth from the
smallest to the largest size linear or better, a constant statement count, matching counts).
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import _databases
from sqlalchemy import event

from bot.app.delivery import delivery_metrics
from bot.db.lead_times import link_changes
from bot.db.people import workspace_id
from bot.db.setup import Database, open_database
from bot.db.signals import Source, add_source
from bot.domain.delivery_metrics import DeliveryMetrics
from bot.domain.signals import SourceKind

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
CHANNEL = "C0TEAM"
OTHER = "C0OTHER"
WINDOW_DAYS = 90
TARGET_SECONDS = 0.2
MAX_EXPONENT = 1.0  # linear or better
MODELS = ("churn", "fraud", "ranking", "forecast", "search")
COLUMNS = (
    "source_id",
    "type",
    "external_id",
    "at",
    "counted",
    "environment",
    "sha",
    "head",
    "pushed_at",
    "root_cause",
    "model",
    "version",
    "version_at",
    "name",
    "status",
    "value",
    "category",
)
DORA_COLUMNS = 13  # the columns the DORA and ML rows fill; the rest are the checks', alerts' and reviews'


@dataclass
class Expected:
    """What the window must hold for the measured channel, counted while generating."""

    deployments: int = 0
    failed: int = 0
    training: int = 0
    model_deployments: int = 0
    mix: dict[str, int] = field(default_factory=dict)


def generate(size: int, period_days: int, seed: int = 10) -> tuple[list[tuple[Any, ...]], Expected]:
    rng = random.Random(seed)
    start = NOW - timedelta(days=period_days)
    since = NOW - timedelta(days=WINDOW_DAYS)
    rows: list[tuple[Any, ...]] = []
    expected = Expected()
    deployments = size // 10
    span = (NOW - start).total_seconds()
    step = span / deployments
    repos = [("src-repo-a", CHANNEL), ("src-repo-b", CHANNEL), ("src-repo-c", CHANNEL), ("src-other", OTHER)]
    deployed: list[tuple[datetime, str]] = []  # (when, sha), in order of time
    last_deploy: dict[str, datetime] = {}

    def add(row: tuple[Any, ...]) -> None:
        row = row + (None,) * (len(COLUMNS) - len(row))
        rows.append(row)
        expected.mix[row[1]] = expected.mix.get(row[1], 0) + 1

    for i in range(deployments):
        # Nine deployments in ten go to the measured channel's repositories (a, b, c).
        source, channel = repos[3] if i % 10 == 9 else repos[i % 3]
        when = start + timedelta(seconds=step * i + rng.uniform(0, step * 0.5))
        gap = (when - last_deploy.get(source, when - timedelta(hours=12))).total_seconds()
        last_deploy[source] = when
        head = ""
        pushes = rng.randint(1, 3)
        for p in range(pushes):
            # the pushes since the repository's previous deployment, the last one deployed
            pushed = when - timedelta(seconds=gap * (pushes - p) / (pushes + 1))
            commits = rng.randint(1, 6)
            head = f"{source}-{i}-{p}-{commits - 1}"
            for c in range(commits):
                sha = f"{source}-{i}-{p}-{c}"
                committed = pushed - timedelta(minutes=rng.uniform(-5, 2000))  # a few after the push
                add((source, "change", sha, committed, True, None, sha, head, pushed, None, None, None, None))
        roll = rng.random()
        kind, env = ("deployment", "production")
        if roll < 0.10:
            kind = "deployment_failed"
        elif roll < 0.15:
            env = "staging"
        counted = env == "production"
        add((source, kind, f"dep-{i}", when, counted, env, head, None, None, None, None, None, None))
        in_window = channel == CHANNEL and when >= since and counted
        if kind == "deployment":
            deployed.append((when, head))
            expected.deployments += in_window
        else:
            expected.failed += in_window
    target = {"incident": size // 100, "training_run": size * 12 // 100, "model_deployed": size * 3 // 100}
    for k in range(target["incident"]):
        source, channel = repos[3] if k % 10 == 9 else repos[k % 3]
        opened = start + timedelta(seconds=rng.uniform(0, span))
        # half name one of the last ten deployments before the incident was opened
        before = bisect.bisect_left(deployed, (opened, ""))
        recent = deployed[max(0, before - 10) : before]
        cause = rng.choice(recent)[1] if recent and rng.random() < 0.5 else None
        add((source, "incident_opened", f"inc-{k}", opened, True, None, None, None, None, cause, None, None, None))
        resolved = opened + timedelta(hours=rng.expovariate(1 / 12))
        if rng.random() < 0.95 and resolved <= NOW:
            add(
                (
                    source,
                    "incident_resolved",
                    f"inc-{k}",
                    resolved,
                    True,
                    None,
                    None,
                    None,
                    None,
                    cause,
                    None,
                    None,
                    None,
                )
            )
    for k in range(target["training_run"]):
        source, channel = ("src-other", OTHER) if k % 10 == 9 else ("src-registry", CHANNEL)
        when = start + timedelta(seconds=rng.uniform(0, span))
        add(
            (
                source,
                "training_run",
                f"run-{k}",
                when,
                True,
                None,
                None,
                None,
                None,
                None,
                rng.choice(MODELS),
                None,
                None,
            )
        )
        expected.training += channel == CHANNEL and when >= since
    for k in range(target["model_deployed"]):
        source, channel = ("src-other", OTHER) if k % 10 == 9 else ("src-registry", CHANNEL)
        when = start + timedelta(seconds=rng.uniform(0, span))
        created = when - timedelta(days=rng.uniform(0, 10))
        model = rng.choice(MODELS)
        add(
            (source, "model_deployed", f"{model}-{k}", when, True, None, None, None, None, None, model, str(k), created)
        )
        expected.model_deployments += channel == CHANNEL and when >= since
    return rows, expected


ALERTS = (
    ("ModelDrift", "drift"),
    ("PredictionQualityLow", "model_quality"),
    ("HighLatency", "service"),
    ("DiskFull", None),
)
CHECKS = ("data validation", "model tests", "fairness", "coverage")


def generate_more(size: int, period_days: int, rows: list[tuple[Any, ...]], expected: Expected, seed: int = 19) -> None:
    """Issue 19's kinds on top of the DORA history (which stays exactly as ``generate`` made it, so the
    DORA figures compare with earlier runs): per ``size`` events, 4 % alerts (firing, most resolved),
    10 % check runs, 3 % pull requests (opened, up to two reviews, most merged), and the registry's
    training runs marked documented or not and linked to a run or not. Nine in ten for the channel."""
    rng = random.Random(seed)
    start = NOW - timedelta(days=period_days)
    span = (NOW - start).total_seconds()
    repos = ("src-repo-a", "src-repo-b", "src-repo-c")

    def add(row: tuple[Any, ...]) -> None:
        rows.append(row)
        expected.mix[row[1]] = expected.mix.get(row[1], 0) + 1

    def row(source: str, kind: str, external: str, at: datetime, **extra: Any) -> tuple[Any, ...]:
        values = dict.fromkeys(COLUMNS)
        values.update(source_id=source, type=kind, external_id=external, at=at, counted=True, **extra)
        return tuple(values[c] for c in COLUMNS)

    for k in range(size * 4 // 100 // 2):
        source = "src-other" if k % 10 == 9 else "src-alerts"
        name, category = rng.choice(ALERTS)
        fired = start + timedelta(seconds=rng.uniform(0, span))
        key = f"fp{k:08x}:{fired.isoformat()}"
        add(row(source, "alert_firing", key, fired, name=name, category=category))
        resolved = fired + timedelta(minutes=rng.expovariate(1 / 90))
        if rng.random() < 0.9 and resolved <= NOW:
            add(row(source, "alert_resolved", key, resolved, name=name, category=category))
    for k in range(size * 10 // 100):
        source = "src-other" if k % 10 == 9 else repos[k % 3]
        check = rng.choice(CHECKS)
        value = round(rng.uniform(50, 95), 1) if check == "coverage" else None
        status = "passed" if rng.random() < 0.85 else "failed"
        at = start + timedelta(seconds=rng.uniform(0, span))
        add(row(source, "check", f"check-{k}", at, name=check, status=status, value=value))
    for k in range(size * 3 // 100 // 3):
        source = "src-other" if k % 10 == 9 else repos[k % 3]
        pr = f"acme/repo#{k}"
        opened = start + timedelta(seconds=rng.uniform(0, span))
        add(row(source, "review_opened", pr, opened, name=pr))
        for r in range(rng.choice((0, 1, 1, 2))):
            add(row(source, "reviewed", f"{pr}:{r}", opened + timedelta(hours=rng.expovariate(1 / 6)), name=pr))
        if rng.random() < 0.8:
            add(row(source, "review_merged", pr, opened + timedelta(hours=rng.expovariate(1 / 30)), name=pr))
    # The registry's versions: documented (a description or a model card) or not, linked to a run or not.
    marked = []
    for existing in rows:
        if existing[0] == "src-registry" and existing[1] == "training_run":
            values = dict(zip(COLUMNS, existing, strict=True))
            values["status"] = "documented" if rng.random() < 0.6 else "undocumented"
            values["category"] = "run" if rng.random() < 0.8 else None
            marked.append(tuple(values[c] for c in COLUMNS))
        else:
            marked.append(existing)
    rows[:] = marked


def seed(database: Database, rows: list[tuple[Any, ...]]) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0BENCH", NOW)
        for sid, channel, kind in (
            ("src-repo-a", CHANNEL, SourceKind.GITHUB),
            ("src-repo-b", CHANNEL, SourceKind.GITLAB),
            ("src-repo-c", CHANNEL, SourceKind.EVENTS),
            ("src-registry", CHANNEL, SourceKind.MLFLOW),
            ("src-alerts", CHANNEL, SourceKind.ALERTMANAGER),
            ("src-other", OTHER, SourceKind.EVENTS),
        ):
            add_source(session, Source(sid, ws, channel, kind, "s", "production", "train", ("production",), "U", NOW))
    raw = database.engine.raw_connection()
    try:
        if database.engine.dialect.name == "sqlite":
            # SQLAlchemy's own storage format for a naive UTC DateTime on SQLite
            def iso(value: Any) -> Any:
                return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value

            cursor = raw.cursor()
            cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO signal_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                ([iso(v) for v in row] for row in rows),
            )
            cursor.execute("COMMIT")
        else:
            cursor = raw.cursor()
            with cursor.copy(f"COPY signal_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
            raw.commit()
    finally:
        raw.close()
    # What storing them through bot.db.signals would have done as they arrived: link each change
    # to the deployment that first shipped it (here in one pass per source).
    with database.sessions.begin() as session:
        link_changes(session, {sid: None for sid in ("src-repo-a", "src-repo-b", "src-repo-c", "src-other")})
    if database.engine.dialect.name != "sqlite":
        # What autovacuum does soon after a bulk load (PostgreSQL 13+ vacuums after inserts
        # too): statistics, and the visibility map that lets index-only scans skip the heap.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE signal_events")


@dataclass
class Run:
    size: int
    database: Database
    expected: Expected
    seconds: list[float] = field(default_factory=list)
    statements: int = 0
    result: DeliveryMetrics | None = None


def measure(run: Run) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(run.database.engine, "before_cursor_execute", count)
    t0 = time.perf_counter()
    run.result = delivery_metrics(run.database.sessions, CHANNEL, NOW, WINDOW_DAYS)
    run.seconds.append(time.perf_counter() - t0)
    event.remove(run.database.engine, "before_cursor_execute", count)
    run.statements = sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))


def check(run: Run) -> list[str]:
    m, e = run.result, run.expected
    assert m is not None
    got = (m.deployments, m.failed_deployments, m.training_runs, m.model_deployments)
    want = (e.deployments, e.failed, e.training, e.model_deployments)
    problems = [f"{run.size}: counts {got} != expected {want}"] if got != want else []
    if m.lead_time_hours_p50 is None or m.time_to_restore_hours_p50 is None or m.model_age_days is None:
        problems.append(f"{run.size}: a median is missing: {m}")
    return problems


def bench(backend: str, sizes: list[int], repeat: int, period_days: int, server: str, kinds: str = "all") -> bool:
    with ExitStack() as stack:
        runs = []
        for size in sizes:
            url = stack.enter_context(_databases.scratch_database(backend, server))
            database = open_database(url, auto_migrate=True)
            stack.callback(database.dispose)
            t0 = time.perf_counter()
            rows, expected = generate(size, period_days)
            if kinds == "all":
                generate_more(size, period_days, rows, expected)
            seed(database, rows)
            print(f"{backend} {size:>9,} events seeded in {time.perf_counter() - t0:5.1f} s; mix {expected.mix}")
            runs.append(Run(len(rows), database, expected))
            measure(runs[-1])  # warm the caches and the connection pool
            runs[-1].seconds.clear()
        print(f"{backend}: {_databases.server_version(runs[0].database.engine)}")
        for _ in range(repeat):
            for run in runs:
                measure(run)
        problems = [p for run in runs for p in check(run)]
        print(f"{'events':>10} {'in window':>9} {'median ms':>9} {'fastest':>8} {'SELECTs':>7}  result")
        for run in runs:
            m = run.result
            assert m is not None
            window = run.expected.deployments + run.expected.failed
            print(
                f"{run.size:>10,} {window:>9,} {statistics.median(run.seconds) * 1000:>9.1f} "
                f"{min(run.seconds) * 1000:>8.1f} {run.statements:>7}  "
                f"{m.deployments} deploys, lead {m.lead_time_hours_p50:.1f} h, cfr {m.change_failure_rate:.3f}, "
                f"restore {m.time_to_restore_hours_p50:.1f} h, model age {m.model_age_days:.1f} d"
            )
        first, last = runs[0], runs[-1]
        ratio = statistics.median(last.seconds) / statistics.median(first.seconds)
        growth = last.size / first.size
        exponent = math.log(ratio) / math.log(growth) if growth > 1 else 0.0
        print(
            f"{backend}: {first.size:,} -> {last.size:,} events ({growth:.0f}x): "
            f"time x{ratio:.1f}, exponent {exponent:.2f}"
        )
        if len({run.statements for run in runs}) != 1:
            problems.append(f"statement counts differ: {[run.statements for run in runs]}")
        if statistics.median(last.seconds) > TARGET_SECONDS:
            problems.append(f"{last.size:,} events: {statistics.median(last.seconds) * 1000:.0f} ms > 200 ms")
        if exponent > MAX_EXPONENT + 0.05:
            problems.append(f"growth exponent {exponent:.2f} is worse than linear")
        for p in problems:
            print(f"{backend}: FAIL {p}")
        return not problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--period-days", type=int, default=730)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument(
        "--kinds", choices=("dora", "all"), default="all", help="dora: the DORA and ML history alone (issue 10's)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(_databases.machine())
    ok = True
    for backend in backends:
        server = _databases.postgres_url(args.postgres_url)
        ok = bench(backend, sizes, args.repeat, args.period_days, server, args.kinds) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
