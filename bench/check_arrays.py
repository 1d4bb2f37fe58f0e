"""Benchmark: arrays of check events to the generic events endpoint (issue 19).

A generic-events source is created in a scratch database; then ``--senders`` threads (default 4)
post ``--requests`` arrays (default 100) of ``--size`` check events each (default 500: data
validation, model tests, fairness and a coverage check with a value, every event its own id) to
one web process (``--workers 1``), each request on a new connection. Measured: check events
stored per second over the burst, and the p50/p99 response time of a request. Three bursts in a
row (``--rounds``), their medians reported; then every event is checked to be stored once.

The floor: bench/noop_app.py served the same way answers the very same requests (same bodies,
same path) with a 200 after reading the body, storing nothing, in the same run.

No target: the figures say what one web process takes of a CI posting its checks in bulk, and
how much of a request's time is Compass's (parsing 500 events, storing them in one transaction)
rather than HTTP's.

    .venv/bin/python bench/check_arrays.py                    # SQLite temp file
    .venv/bin/python bench/check_arrays.py --backend postgresql [--postgres-url URL] [--json]

Exit status: 0 every event stored once, 1 not, 2 error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import _databases
from _databases import machine, scratch_database
from fakeslack import FakeSlack  # noqa: E402  (tests/ is on the path through _databases)
from harness import AppProcess  # noqa: E402
from signals_ingest import SMALL_BANK, FloorProcess, burst  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.app import signals  # noqa: E402
from bot.db import migrate  # noqa: E402
from bot.db.models import SignalDelivery, SignalEventRow  # noqa: E402
from bot.db.session import make_engine  # noqa: E402
from bot.db.setup import open_database  # noqa: E402
from bot.domain.signals import SourceKind  # noqa: E402

TOKEN = "bench-token"
CHECKS = ("Data validation (great_expectations)", "model tests", "fairness", "coverage")


def arrays(count: int, size: int, path: str, start: int) -> list[tuple[str, str, dict[str, str]]]:
    """(path, body, headers) per request: ``size`` distinct check events, an hour apart per request."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    base = datetime.now(UTC) - timedelta(days=60)
    made = []
    for r in range(start, start + count):
        events = []
        for i in range(size):
            name = CHECKS[i % len(CHECKS)]
            event: dict[str, Any] = {
                "type": "check",
                "id": f"run-{r}-{i}",
                "at": (base + timedelta(hours=r, seconds=i)).isoformat(),
                "check": name,
                "status": "failed" if (r + i) % 10 == 0 else "passed",
                "service": "churn-api",
            }
            if name == "coverage":
                event["value"] = 60 + (r + i) % 40 + 0.5
            events.append(event)
        made.append((path, json.dumps(events), headers))
    return made


def rates(summary: dict[str, Any], size: int) -> dict[str, Any]:
    return {**summary, "events_per_s": round(summary["accepted_per_s"] * size, 1)}


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    server_url = _databases.postgres_url(args.postgres_url)
    with scratch_database(args.backend, server_url) as url, FakeSlack() as fake:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        database = open_database(url, auto_migrate=False)
        made = signals.add_source(
            database.sessions, SourceKind.EVENTS, "C0BENCH", datetime.now(UTC), created_by="bench", secret=TOKEN
        )
        path = made.source.path
        warm = arrays(4, args.size, path, start=0)
        rounds = [arrays(args.requests, args.size, path, start=1000 * (k + 1)) for k in range(args.rounds)]
        server_args = ("--workers", "1", "--no-worker")
        app_runs, floor_runs = [], []
        with AppProcess(fake.api_url, url, SMALL_BANK, args=server_args) as app:
            burst(app.url, warm, args.senders)
            for work in rounds:
                app_runs.append(rates(burst(app.url, work, args.senders).summary(), args.size))
        with FloorProcess(fake.api_url, url, SMALL_BANK, args=("--workers", "1")) as floor:
            burst(floor.url, warm, args.senders)
            for work in rounds:
                floor_runs.append(rates(burst(floor.url, work, args.senders).summary(), args.size))
        with database.sessions() as s:
            stored = s.scalar(select(func.count(SignalDelivery.id)).where(SignalDelivery.source_id == made.source.id))
            events = s.scalar(select(func.count(SignalEventRow.id)).where(SignalEventRow.source_id == made.source.id))
        database.dispose()
    requests = len(warm) + args.requests * args.rounds
    result: dict[str, Any] = {
        "backend": args.backend,
        "senders": args.senders,
        "size": args.size,
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "app_runs": app_runs,
        "floor_runs": floor_runs,
        "app": {k: median_of(app_runs, k) for k in ("events_per_s", "p50_ms", "p99_ms")},
        "floor": {k: median_of(floor_runs, k) for k in ("events_per_s", "p50_ms", "p99_ms")},
        "stored_deliveries": stored,
        "stored_events": events,
        "all_stored_once": stored == requests and events == requests * args.size,
        "all_accepted": all(r["accepted"] == args.requests for r in app_runs),
        "machine": machine(),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=None, help="server for --backend postgresql (127.0.0.1)")
    parser.add_argument("--requests", type=int, default=100, help="arrays per round")
    parser.add_argument("--size", type=int, default=500, help="check events per array (at most 1000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except Exception as exc:  # noqa: BLE001
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        a, f = result["app"], result["floor"]
        print(f"{result['machine']}, load {result['load_1min']}, {args.backend}, {args.senders} senders")
        print(f"arrays of {args.size} checks, {args.requests} per round, medians of {args.rounds} rounds")
        print(f"compass serve: {a['events_per_s']} events/s, p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms")
        print(f"no-op floor:   {f['events_per_s']} events/s, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms")
        print(f"all accepted: {result['all_accepted']}, stored once: {result['all_stored_once']}")
    return 0 if result["all_stored_once"] and result["all_accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
