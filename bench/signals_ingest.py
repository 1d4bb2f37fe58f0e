"""Benchmark: how fast ``compass serve --http`` takes signed GitHub webhooks (issue 10).

A GitHub source is created in a scratch database; then ``--senders`` threads (default 20) send
``--webhooks`` signed deliveries (half ``push`` with two commits, half ``deployment_status``,
every one with its own X-GitHub-Delivery and shas), each on a new connection as GitHub does,
to one web process (``--workers 1``). Measured: webhooks accepted (200 and stored) per second
over the whole burst, and the p50/p99 response time. Then every delivery is checked to be in
the database exactly once.

The floor: bench/noop_app.py, served the same way (gunicorn gthread through
``bot.run.web.serve_http``), answers the very same requests on the same path with a 200 after
reading the body, checking and storing nothing.

Target: p99 < 100 ms and at least 300 webhooks/s.

    .venv/bin/python bench/signals_ingest.py                    # SQLite temp file
    .venv/bin/python bench/signals_ingest.py --backend postgresql [--postgres-url URL] [--json]

Exit status: 0 PASS, 1 FAIL, 2 error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _databases
from _databases import ROOT, machine, scratch_database
from fakeslack import FakeSlack  # noqa: E402  (tests/ is on the path through _databases)
from harness import AppProcess, request  # noqa: E402
from signal_payloads import github_deployment_status, github_headers, github_push  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.app import signals  # noqa: E402
from bot.db import migrate  # noqa: E402
from bot.db.models import SignalDelivery, SignalEventRow  # noqa: E402
from bot.db.session import make_engine  # noqa: E402
from bot.db.setup import open_database  # noqa: E402
from bot.domain.signals import SourceKind  # noqa: E402

NOOP_APP = Path(__file__).resolve().parent / "noop_app.py"
SMALL_BANK = ROOT / "tests" / "data" / "questions_small.json"
TARGET_P99 = 0.100
TARGET_RATE = 300.0


class FloorProcess(AppProcess):
    name = "the no-op app"

    def command(self) -> list[str]:
        return [sys.executable, str(NOOP_APP), *self.args]


def _sha(i: int, j: int) -> str:
    return hashlib.sha1(f"{i}-{j}".encode()).hexdigest()


def deliveries(count: int, secret: str, path: str, start: int = 0) -> list[tuple[str, str, dict[str, str]]]:
    """(path, body, headers) for each webhook: push and deployment_status alternately, all distinct."""
    made = []
    for i in range(start, start + count):
        if i % 2 == 0:
            stamp = datetime.fromtimestamp(1764460800 + i * 60, UTC).isoformat()
            payload, event = github_push([(_sha(i, 0), stamp), (_sha(i, 1), stamp)], after=_sha(i, 1)), "push"
        else:
            # each push's head deployed half a minute after it, as a deploy-on-merge pipeline does
            deployed = datetime.fromtimestamp(1764460800 + (i - 1) * 60 + 30, UTC).isoformat()
            payload = github_deployment_status(sha=_sha(i - 1, 1), deployment_id=10_000 + i, created_at=deployed)
            event = "deployment_status"
        body = json.dumps(payload)
        made.append((path, body, github_headers(secret, body, event, str(uuid.uuid4()))))
    return made


@dataclass
class Burst:
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        accepted = self.statuses.get(200, 0)
        return {
            "sent": len(ordered),
            "accepted": accepted,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.seconds, 3),
            "accepted_per_s": round(accepted / self.seconds, 1),
            "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            "max_ms": round(1000 * ordered[-1], 1),
        }


def burst(base_url: str, work: list[tuple[str, str, dict[str, str]]], senders: int) -> Burst:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    queue = iter(work)

    def sender() -> None:
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            path, body, headers = item
            reply = request("POST", base_url + path, body, headers)
            with lock:
                latencies.append(reply.seconds)
                statuses[reply.status] = statuses.get(reply.status, 0) + 1

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Burst(time.perf_counter() - started, latencies, statuses)


def run(args: argparse.Namespace) -> dict[str, Any]:
    server_url = _databases.postgres_url(args.postgres_url)
    with scratch_database(args.backend, server_url) as url, FakeSlack() as fake:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        database = open_database(url, auto_migrate=False)
        made = signals.add_source(
            database.sessions,
            SourceKind.GITHUB,
            "C0BENCH",
            datetime.now(UTC),
            created_by="bench",
            secret="bench-secret",
        )
        path = made.source.path
        warm = deliveries(50, "bench-secret", path)
        work = deliveries(args.webhooks, "bench-secret", path, start=1000)
        result: dict[str, Any] = {"backend": args.backend, "senders": args.senders, "webhooks": args.webhooks}
        server_args = ("--workers", "1", "--no-worker")
        with AppProcess(fake.api_url, url, SMALL_BANK, args=server_args) as app:
            burst(app.url, warm, args.senders)
            app_burst = burst(app.url, work, args.senders)
        with FloorProcess(fake.api_url, url, SMALL_BANK, args=("--workers", "1")) as floor:
            burst(floor.url, warm, args.senders)
            floor_burst = burst(floor.url, work, args.senders)
        with database.sessions() as s:
            stored = s.scalar(select(func.count(SignalDelivery.id)).where(SignalDelivery.source_id == made.source.id))
            events = s.scalar(select(func.count(SignalEventRow.id)).where(SignalEventRow.source_id == made.source.id))
        database.dispose()
    result["app"] = app_burst.summary()
    result["floor"] = floor_burst.summary()
    expected_events = sum(2 if i % 2 == 0 else 1 for i in range(args.webhooks)) + sum(
        2 if i % 2 == 0 else 1 for i in range(50)
    )
    result["stored_deliveries"] = stored
    result["stored_events"] = events
    result["all_stored_once"] = stored == args.webhooks + 50 and events == expected_events
    result["machine"] = machine()
    result["load_1min"] = round(os.getloadavg()[0], 2)
    app_summary = result["app"]
    result["pass"] = bool(
        app_summary["p99_ms"] < TARGET_P99 * 1000
        and app_summary["accepted_per_s"] >= TARGET_RATE
        and app_summary["accepted"] == args.webhooks
        and result["all_stored_once"]
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=None, help="server for --backend postgresql (127.0.0.1)")
    parser.add_argument("--webhooks", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=20)
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
        rate, p50, p99 = a["accepted_per_s"], a["p50_ms"], a["p99_ms"]
        print(f"compass serve: {rate}/s accepted, p50 {p50} ms, p99 {p99} ms, {a['statuses']}")
        print(f"no-op floor:   {f['accepted_per_s']}/s,          p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms")
        print(f"stored once: {result['all_stored_once']}  ->  {'PASS' if result['pass'] else 'FAIL'}")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
