"""Benchmark: ``compass serve --http`` taking Prometheus Alertmanager notifications of 100 alerts each.

An Alertmanager source is created in a scratch database. Each round sends ``--groups``
notifications of 100 distinct firing alerts (shaped as the documented webhook version 4,
tests/alertmanager_payloads.py) and the same groups again, resolved (100 resolutions new,
100 firings already stored), shuffled, from ``--senders`` threads, each on a new connection
as Alertmanager does. Measured per round: alert events stored per second over the whole burst
(2 × 100 per group) and the p50/p99 response time. The floor: bench/noop_app.py, served the
same way, answers the very same requests with a 200 after reading the body, storing nothing,
in the same run. Medians over ``--rounds`` rounds (3), each round with alerts of its own.
Finally every event is checked to be stored exactly once.

Bounded: the defaults (40 groups, 3 rounds: 240 requests, 24,000 events per side) take well
under a minute here.

    .venv/bin/python bench/alertmanager_batches.py                    # SQLite temp file
    .venv/bin/python bench/alertmanager_batches.py --backend postgresql [--postgres-url URL] [--json]

Exit status: 0 every event stored once, 1 not, 2 error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from datetime import UTC, datetime
from typing import Any

import _databases
from _databases import machine, scratch_database
from alertmanager_payloads import alertmanager_group, alertmanager_headers  # noqa: E402
from fakeslack import FakeSlack  # noqa: E402
from harness import AppProcess  # noqa: E402
from signals_ingest import SMALL_BANK, Burst, FloorProcess, burst  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.app import signals  # noqa: E402
from bot.db import migrate  # noqa: E402
from bot.db.models import SignalEventRow  # noqa: E402
from bot.db.session import make_engine  # noqa: E402
from bot.db.setup import open_database  # noqa: E402
from bot.domain.signals import SourceKind  # noqa: E402

ALERTS_PER_GROUP = 100
TOKEN = "bench-token"


def notifications(groups: int, path: str, first_group: int, seed: int) -> list[tuple[str, str, dict[str, str]]]:
    """(path, body, headers): each group firing, and the same group resolved, in a shuffled order."""
    headers = alertmanager_headers(TOKEN)
    made = []
    for g in range(first_group, first_group + groups):
        start = g * ALERTS_PER_GROUP
        for resolved in (False, True):
            payload = alertmanager_group(ALERTS_PER_GROUP, start=start, resolved=resolved, kind="service")
            payload["groupKey"] = f'{{}}:{{alertname="HighErrorRate",group="{g}"}}'
            made.append((path, json.dumps(payload), headers))
    random.Random(seed).shuffle(made)
    return made


def _side(bursts: list[Burst], events_per_round: int) -> dict[str, Any]:
    summaries = [b.summary() for b in bursts]
    return {
        "events_per_s": round(statistics.median(events_per_round / b.seconds for b in bursts), 1),
        "notifications_per_s": round(statistics.median(len(b.latencies) / b.seconds for b in bursts), 1),
        "p50_ms": round(statistics.median(s["p50_ms"] for s in summaries), 1),
        "p99_ms": round(statistics.median(s["p99_ms"] for s in summaries), 1),
        "rounds": summaries,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    server_url = _databases.postgres_url(args.postgres_url)
    with scratch_database(args.backend, server_url) as url, FakeSlack() as fake:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        database = open_database(url, auto_migrate=False)
        made = signals.add_source(
            database.sessions, SourceKind.ALERTMANAGER, "C0BENCH", datetime.now(UTC), created_by="bench", secret=TOKEN
        )
        path = made.source.path
        warm = notifications(2, path, first_group=0, seed=0)
        rounds = [notifications(args.groups, path, 10 + r * args.groups, seed=r + 1) for r in range(args.rounds)]
        app_bursts, floor_bursts = [], []
        with AppProcess(fake.api_url, url, SMALL_BANK, args=("--workers", "1", "--no-worker")) as app:
            burst(app.url, warm, args.senders)
            app_bursts = [burst(app.url, work, args.senders) for work in rounds]
        with FloorProcess(fake.api_url, url, SMALL_BANK, args=("--workers", "1")) as floor:
            burst(floor.url, warm, args.senders)
            floor_bursts = [burst(floor.url, work, args.senders) for work in rounds]
        with database.sessions() as s:
            events = s.scalar(select(func.count(SignalEventRow.id)).where(SignalEventRow.source_id == made.source.id))
        database.dispose()
    events_per_round = 2 * ALERTS_PER_GROUP * args.groups
    expected = events_per_round * args.rounds + 2 * ALERTS_PER_GROUP * 2
    result: dict[str, Any] = {
        "backend": args.backend,
        "senders": args.senders,
        "groups_per_round": args.groups,
        "alerts_per_group": ALERTS_PER_GROUP,
        "app": _side(app_bursts, events_per_round),
        "floor": _side(floor_bursts, events_per_round),
        "stored_events": events,
        "all_stored_once": events == expected,
        "all_200": all(b.statuses == {200: len(b.latencies)} for b in app_bursts + floor_bursts),
        "machine": machine(),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=None, help="server for --backend postgresql (127.0.0.1)")
    parser.add_argument("--groups", type=int, default=40, help="groups of 100 alerts per round (each sent twice)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", type=int, default=8)
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
        print(f"medians of {args.rounds} rounds of {args.groups} groups of 100 alerts, each sent firing and resolved")
        print(f"compass serve: {a['events_per_s']} events/s, p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms")
        print(f"no-op floor:   {f['events_per_s']} events/s, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms")
        print(f"all 200: {result['all_200']}, every event stored once: {result['all_stored_once']}")
    return 0 if result["all_stored_once"] and result["all_200"] else 1


if __name__ == "__main__":
    sys.exit(main())
