"""Benchmark: what looking up a workspace's own question bank costs a click (issue 20).

In-process, on a fresh database per backend: the use case behind an answer click
(``bot.app.assessment.record_answer``: click → the next question, one transaction) timed for every
answer of ``--people`` people answering the shipped bank, in two set-ups:

- ``one bank``: every workspace on the deployment's default bank (no ``question_banks`` rows);
- ``own banks``: ``--workspaces`` workspaces, each given its own bank (the shipped bank under its own
  version, so each has its own hash), people spread over them round-robin.

Both set-ups run in one process after a warm-up person per workspace, so the ``own banks`` run
measures the steady state: one indexed row read per transaction, the parsed banks found by hash in
the process. Reported: p50 and p95 per click (ms) and the difference of the p95s; PASS when the
``own banks`` p95 is within ``--tolerance`` ms (default 1.0) of the ``one bank`` p95, or within 10 % of it.

    .venv/bin/python bench/bank_lookup.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/bank_lookup.py --backends sqlite --people 30

Exit status: 0 PASS, 1 FAIL.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from _databases import ROOT, machine, postgres_url, scratch_database, server_version

sys.path.insert(0, str(ROOT))

from bot.app import banks  # noqa: E402
from bot.app.assessment import record_answer, start_assessment  # noqa: E402
from bot.app.context import AppContext  # noqa: E402
from bot.app.types import Click, Who  # noqa: E402
from bot.db.setup import open_database  # noqa: E402
from bot.domain.questionnaire import load_questionnaire  # noqa: E402

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SHIPPED = ROOT / "questions.json"


def answer_all(ctx: AppContext, who: Who, clock: list[datetime]) -> list[float]:
    """One person's whole questionnaire; the seconds each click's use case took."""
    progress = start_assessment(ctx, who, clock[0]).progress
    took = []
    while progress.question is not None:
        clock[0] += timedelta(seconds=5)
        click = Click(progress.assessment_id, progress.question.id, 3, question_hash=progress.question.content_hash)
        started = time.perf_counter()
        progress = record_answer(ctx, who, click, clock[0]).progress
        took.append(time.perf_counter() - started)
    return took


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(url: str, people: int, workspaces: int) -> dict[str, object]:
    database = open_database(url, auto_migrate=True)
    default = load_questionnaire(SHIPPED)
    ctx = AppContext(database.sessions, default)
    clock = [T0]
    document = json.loads(SHIPPED.read_text(encoding="utf-8"))
    own = [f"T0OWN{i:03d}" for i in range(workspaces)]
    for i, team in enumerate(own):
        text = json.dumps({**document, "version": f"bench-{i}"})
        banks.set_bank(ctx, team, "custom", text, by="bench", now=T0, expected_version=0)
    ctx = AppContext(database.sessions, default)  # a fresh process: nothing parsed yet
    results: dict[str, object] = {"backend": server_version(database.engine)}
    for label, teams in (("one bank", [f"T0ONE{i:03d}" for i in range(workspaces)]), ("own banks", own)):
        for team in teams:  # warm-up: each bank parsed once, every code path imported
            answer_all(ctx, Who(team, "U0WARM"), clock)
        took: list[float] = []
        for n in range(people):
            took += answer_all(ctx, Who(teams[n % len(teams)], f"U{n:05d}"), clock)
        results[label] = {
            "clicks": len(took),
            "p50_ms": round(p(took, 0.5), 2),
            "p95_ms": round(p(took, 0.95), 2),
            "mean_ms": round(statistics.mean(took) * 1000, 2),
        }
    database.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--tolerance", type=float, default=1.0, help="ms of p95 the lookup may add")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ok = True
    report = {"machine": machine(), "runs": []}
    for backend in args.backends.split(","):
        with scratch_database(backend, postgres_url(args.postgres_url)) as url:
            found = run(url, args.people, args.workspaces)
        one, many = found["one bank"], found["own banks"]
        assert isinstance(one, dict) and isinstance(many, dict)
        added = many["p95_ms"] - one["p95_ms"]
        passed = added <= max(args.tolerance, one["p95_ms"] * 0.10)
        ok = ok and passed
        found["p95_added_ms"] = round(added, 2)
        found["verdict"] = "PASS" if passed else "FAIL"
        report["runs"].append(found)  # type: ignore[union-attr]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"Machine: {report['machine']}\n")
        print("| backend | set-up | clicks | p50 ms | p95 ms | mean ms |\n|---|---|---|---|---|---|")
        for found in report["runs"]:  # type: ignore[union-attr]
            for label in ("one bank", "own banks"):
                r = found[label]
                print(
                    f"| {found['backend']} | {label} | {r['clicks']} | {r['p50_ms']} | {r['p95_ms']} | {r['mean_ms']} |"
                )
        for found in report["runs"]:  # type: ignore[union-attr]
            print(f"\n{found['backend']}: p95 added by own banks: {found['p95_added_ms']} ms: {found['verdict']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
