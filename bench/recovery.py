"""Benchmark: how long people wait after a crash, a database restart or a dead worker (issue 9).

Each scenario runs a crowd of N people answering without pause against real processes
(tests/crowd.py, tests/faults.py), breaks something once 40 % of the answers are in, repairs
it, and lets everyone finish:

- ``crash``: SIGKILL of ``compass serve`` with every process it started, then a restart
  (SQLite, and PostgreSQL on a fresh database of the shared server);
- ``db-restart``: PostgreSQL on a cluster of the benchmark's own stopped (fast shutdown),
  down ``--down`` seconds, started again;
- ``worker-kill``: PostgreSQL, two web processes and two workers, one worker SIGKILLed.

The wait is from the repair (the restarted app's /healthz answering 200, the database
accepting connections, the kill) to each person's next question. The yardstick, measured in
the same run, is the time from one question to the next before the fault. Targets: 0 answers
lost, 0 skipped, 0 doubled, max wait <= 10 s.

    .venv/bin/python bench/recovery.py                 # every scenario, 3 rounds, 20 people
    .venv/bin/python bench/recovery.py --scenario crash-sqlite --rounds 5 --json

Only 127.0.0.1 is contacted. Exit status: 0 PASS, 1 FAIL, 2 error.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import _databases  # first: it puts tests/ on sys.path for the imports below
import faults
from conftest import SMALL_BANK
from pgcluster import Cluster, unavailable_reason

from bot.db import migrate
from bot.db.session import make_engine

TARGET_MAX_WAIT = 10.0
SCENARIOS = ("crash-sqlite", "crash-postgresql", "db-restart", "worker-kill")


def _migrated(url: str) -> str:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def run_once(scenario: str, users: list[str], bank: Path, server: str, down: float) -> faults.Outcome:
    if scenario == "crash-sqlite":
        with _databases.scratch_database("sqlite", server) as url:
            return faults.crash(url, bank, users)
    if scenario == "crash-postgresql":
        with _databases.scratch_database("postgresql", server) as url:
            return faults.crash(_migrated(url), bank, users)
    if scenario == "worker-kill":
        with _databases.scratch_database("postgresql", server) as url:
            return faults.worker_killed(_migrated(url), bank, users)
    if scenario == "db-restart":
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        cluster = Cluster()
        try:
            cluster.start()
            url = _migrated(cluster.create_database("compass"))
            return faults.database_restart(cluster, url, bank, users, down=down)
        finally:
            cluster.remove()
    raise ValueError(scenario)


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "max": None}
    return {"p50": round(statistics.median(values), 2), "max": round(max(values), 2)}


def summarise(scenario: str, outcomes: list[faults.Outcome]) -> dict[str, object]:
    waits = [w for o in outcomes for w in o.verdict.waits]
    steps = [s for o in outcomes for s in o.verdict.steps]
    per_round_max = [max(o.verdict.waits) for o in outcomes if o.verdict.waits]
    result = {
        "scenario": scenario,
        "rounds": len(outcomes),
        "people_waiting": len(waits),
        "wait_s": _quantiles(waits),
        "median_of_round_max_s": round(statistics.median(per_round_max), 2) if per_round_max else None,
        "step_s_before_fault": _quantiles(steps),
        "lost": sum(o.verdict.lost for o in outcomes),
        "skipped": sum(o.verdict.skipped for o in outcomes),
        "duplicates": sum(o.verdict.duplicates for o in outcomes),
        "unfinished": sum(o.verdict.unfinished for o in outcomes),
    }
    p50_wait, p50_step = result["wait_s"]["p50"], result["step_s_before_fault"]["p50"]  # type: ignore[index]
    result["wait_over_step_p50"] = round(p50_wait / p50_step, 1) if p50_wait and p50_step else None
    clean = all(o.verdict.clean for o in outcomes)
    result["pass"] = clean and bool(waits) and max(waits) <= TARGET_MAX_WAIT
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default: all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--down", type=float, default=2.0, help="seconds the database stays down (db-restart)")
    parser.add_argument("--questions", type=Path, default=SMALL_BANK)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    server = _databases.postgres_url(args.postgres_url)
    users = [f"U0BENCH{i:03d}" for i in range(args.users)]
    report: dict[str, object] = {"machine": _databases.machine(), "users": args.users, "results": []}
    say: Callable[[str], None] = (lambda _: None) if args.json else print
    try:
        for scenario in args.scenario or SCENARIOS:
            outcomes = []
            for n in range(args.rounds):
                outcome = run_once(scenario, users, args.questions, server, args.down)
                v = outcome.verdict
                say(
                    f"{scenario} round {n + 1}: {len(v.waits)} waiting, max wait {max(v.waits, default=0.0):.2f} s; "
                    f"lost {v.lost}, skipped {v.skipped}, doubled {v.duplicates}, unfinished {v.unfinished}"
                )
                outcomes.append(outcome)
            summary = summarise(scenario, outcomes)
            report["results"].append(summary)  # type: ignore[attr-defined]
            say(json.dumps(summary))
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ok = all(r["pass"] for r in report["results"])  # type: ignore[attr-defined]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
