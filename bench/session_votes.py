"""Benchmark: a team voting at once in a facilitated session (issue 18).

Everything runs against the fake Slack Web API (tests/fakeslack.py), which enforces Slack's tiers (a
bucket per method and workspace: chat.update is Tier 3, 50 a minute) and answers a click's response_url
as Slack does (message-bound, 5 uses, ``replace_original``). For each team size (``--voters``) and run
(``--runs``), on a fresh database (``--database-url``; default a temporary SQLite file, a PostgreSQL URL
names a server on which a fresh database is created and dropped):

1. The burst. The real ``compass serve --http`` (tests/harness.AppProcess: gunicorn and the worker
   sidecar), a channel of N members (the facilitator among them), ``/compass session data``, then every
   member clicks a vote button on the live question within ``--within`` seconds (default 1), one thread
   per person (tests/voters.py): about one in five clicks the same level twice, one in five changes
   their vote (a second click 50 ms after the first was acked). Ack latency is the time from sending
   the signed request to its HTTP response (Slack's 3-second clock).
2. The floor, in the same run: the no-op Bolt app (bench/noop_app.py: same signing secret, served the
   same way, listeners that only ack) gets the very same clicks (same people, levels and offsets, from
   the same seed). Reported: p99 of the app's burst acks against the floor's, per run, the median over
   runs; target p99(app) <= 1.5 x p99(floor) and <= ``--far-below`` (default 0.3 s).
3. Last vote to the right count: from the last burst click's ack to the moment the fake shows "N of N
   voted" on the live message (the fake wakes the waiting thread on every change to it, no polling);
   target <= ``--count-within`` (default 3 s). Beside it, from the last ack to the last vote receipt
   the fake got (each vote's "Your vote counted" through its response_url, sent once the vote is
   stored): how far the worker was behind the clicks. The count shows at most ``REFRESH_EVERY``
   (2 s) after the last vote is stored, by design.
4. Redraws of the live message per minute: after the burst, every member changes their vote once more,
   at a random moment within ``--sustain`` seconds (default 30); every change to the live message in
   that window (a refresh through a vote's response_url, or chat.update) is recorded, from the
   window's first vote until 2 s (the refresh delay) after its last. Redraws per minute = redraws /
   window x 60, with the shortest gap between two redraws beside it. Target: at most 60 % of chat.update's
   Tier 3 budget (30 a minute: room for the rest of the workspace's work even if every redraw were a
   chat.update), and no chat.update answered 429 in the whole run.
5. Every vote counted once: the database holds exactly one row per member with their last acked vote,
   and the facilitator's reveal shows the counts per level of those last votes.

    .venv/bin/python bench/session_votes.py --voters 45 --runs 1 --sustain 10     # quick
    .venv/bin/python bench/session_votes.py                                     # 45,200 voters x 3 runs, SQLite
    .venv/bin/python bench/session_votes.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/session_votes.py --worker-tree /tmp/wt-before   # that tree's worker (before/after)

Every wait is bounded (``--timeout`` per run). Output: a markdown table (``--json``: the figures). Exit
status: 0 PASS (every target met for every size), 1 FAIL, 2 on an error.
"""

from __future__ import annotations

import argparse
import atexit
import copy
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _databases  # first: it puts this tree's tests/ on sys.path (the fake Slack, the harness)
import voters as v
from ack_latency import FloorProcess, _percentiles, machine, scratch_database
from fakeslack import TIER_3, FakeSlack
from harness import AppProcess, Slack, text_of

from bot.app.team_sessions import REFRESH_EVERY
from bot.db.setup import open_database

ROOT = _databases.ROOT
SMALL_BANK = ROOT / "tests" / "data" / "questions_small.json"  # the "data" dimension: 2 questions
QUESTION_ID = "data.versioning"  # its first question: the one voted on
TARGET_RATIO = 1.5
REDRAWS_PER_MINUTE = 0.6 * TIER_3  # 30: room to spare in chat.update's Tier 3 budget
# Every process runs outside any source tree: `python -m bot` (the worker sidecar) would otherwise import
# the bot/ of its working directory rather than its venv's.
ELSEWHERE = tempfile.mkdtemp(prefix="compass-session-votes-")
atexit.register(shutil.rmtree, ELSEWHERE, ignore_errors=True)


class Redraws:
    """Records when the live message changes (posted, refreshed, replaced), on the fake's notifications."""

    def __init__(self, fake: FakeSlack, ts: str) -> None:
        self.fake, self.ts = fake, ts
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Redraws:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)

    def _watch(self) -> None:
        version = self.fake.message_version(v.CHANNEL, self.ts)
        while not self._stop.is_set():
            found = self.fake.wait_for_change(v.CHANNEL, self.ts, after_version=version, timeout=0.2)
            if found is not None:
                self.times.append(time.monotonic())
                version = found

    def between(self, start: float, end: float) -> list[float]:
        return [t for t in self.times if start <= t <= end]


def sustained(team: list[str], seed: int, within: float) -> list[v.Ballot]:
    """Each member changes their vote once more, at a random moment within ``within`` seconds."""
    rng = random.Random(seed)
    return [v.Ballot(user, [rng.randint(1, 4)], rng.uniform(0, within)) for user in team]


def one_run(args: argparse.Namespace, size: int, run: int) -> dict[str, Any]:
    seed = 1000 * size + run
    result: dict[str, Any] = {"voters": size, "run": run, "problems": []}
    problems: list[str] = result["problems"]
    with scratch_database(args.database_url) as (db_url, label), FakeSlack() as fake:
        result["database"] = label
        team = v.team(fake, size)
        app = AppProcess(fake.api_url, db_url, SMALL_BANK, cwd=Path(args.worker_tree or ELSEWHERE))
        with app:
            slack = Slack(app.url, fake.response_url())
            if v.command(slack, "session data").status != 200:
                raise RuntimeError(f"/compass session was not acked:\n{app.log()[-2000:]}")
            live = v.question_message(fake, 1, timeout=30)
            assert live.ts is not None
            as_posted = copy.deepcopy(live)  # for the floor's clicks: the message's buttons before the reveal
            fake.wait_idle(quiet=0.5, timeout=10)
            database = open_database(db_url, auto_migrate=False)
            try:
                with Redraws(fake, live.ts) as redraws:
                    # 1. the burst
                    burst = v.vote(slack, live, v.ballots(team, seed, args.within), timeout=args.timeout)
                    problems.extend(burst.errors)
                    shown = v.count_shown(fake, live.ts, (size, size), timeout=args.timeout)
                    result["clicks"] = len(burst.acks())
                    result["burst_s"] = round(burst.last_ack - burst.started, 2)
                    result["ack_app"] = _percentiles(burst.acks())
                    result["count_after_s"] = None if shown is None else round(shown - burst.last_ack, 2)
                    receipts = [c.at for c in fake.calls_to("response_url") if not c.params.get("replace_original")]
                    result["receipt_after_s"] = round(max(receipts) - burst.last_ack, 2) if receipts else None
                    if shown is None:
                        problems.append(f"the count never showed {size} of {size}")
                    # 4. sustained changes
                    fake.wait_idle(quiet=REFRESH_EVERY.total_seconds() + 0.5, timeout=10)
                    changes = v.vote(slack, live, sustained(team, seed + 1, args.sustain), timeout=args.timeout)
                    problems.extend(changes.errors)
                    end = changes.last_ack + REFRESH_EVERY.total_seconds()
                    time.sleep(max(0.0, end - time.monotonic()) + 1.0)
                    fake.wait_idle(quiet=1.0, timeout=10)
                    window = end - changes.started
                    seen = redraws.between(changes.started, end + 1.0)
                    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
                    result["sustain_s"] = round(window, 1)
                    result["redraws"] = len(seen)
                    result["redraws_per_min"] = round(len(seen) / window * 60, 1)
                    result["min_gap_s"] = round(min(gaps), 2) if gaps else None
                # 5. every vote counted once
                expected = {**burst.expected(), **changes.expected()}
                stored = v.stored_votes(database, QUESTION_ID)
                result["stored_ok"] = stored == expected and len(expected) == size
                if v.voted(fake.messages[(v.CHANNEL, live.ts)]) != (size, size):
                    problems.append(f"the live message ends on {v.voted(fake.messages[(v.CHANNEL, live.ts)])}")
                v.click(slack, v.LEAD, live, "session_reveal")
                revealed = v.wait_for(
                    lambda: (m := v.live(fake)) and "session_agree_1" in text_of(m) and m, 30, "the reveal"
                )
                counts = Counter(expected.values())
                result["revealed_ok"] = v.revealed_counts(revealed) == {lv: counts.get(lv, 0) for lv in (1, 2, 3, 4)}
            finally:
                database.dispose()
            log = app.log()
        updates = fake.calls_to("chat.update")
        result["chat_update_calls"] = len(updates)
        result["chat_update_429"] = sum(1 for c in fake.limited_calls if c.method == "chat.update")
        result["all_429"] = len(fake.limited_calls)
        if fake.block_errors:
            problems.extend(fake.block_errors)
        if "Traceback" in log:
            problems.append("Traceback in the app's log")
        # 2. the floor: the same clicks, the same offsets, against the no-op app
        floor = FloorProcess(fake.api_url, "sqlite:///unused-by-the-no-op-app.db", SMALL_BANK, cwd=Path(ELSEWHERE))
        with floor:
            floor_burst = v.vote(Slack(floor.url, fake.response_url()), as_posted, v.ballots(team, seed, args.within))
            problems.extend(f"floor: {e}" for e in floor_burst.errors)
            result["ack_floor"] = _percentiles(floor_burst.acks())
    return result


def judge(args: argparse.Namespace, size: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str, part: str | None = None) -> float | None:
        values = [(r[key][part] if part else r[key]) for r in runs]
        values = [x for x in values if x is not None]
        return round(statistics.median(values), 2) if values else None

    app_p99, floor_p99 = median("ack_app", "p99"), median("ack_floor", "p99")
    ratio = round(app_p99 / floor_p99, 2) if app_p99 is not None and floor_p99 else None
    counts = [r["count_after_s"] for r in runs]
    worst_count = None if any(c is None for c in counts) else max(counts)
    rates = [r["redraws_per_min"] for r in runs]
    gaps = [r["min_gap_s"] for r in runs if r["min_gap_s"] is not None]
    row = {
        "voters": size,
        "runs": len(runs),
        "clicks": median("clicks"),
        "ack_p99_app_ms": app_p99,
        "ack_p99_floor_ms": floor_p99,
        "ack_p99_ratio": ratio,
        "ack_max_app_ms": max(r["ack_app"]["max"] for r in runs),
        "count_after_s_median": median("count_after_s"),
        "count_after_s_max": worst_count,
        "receipt_after_s_median": median("receipt_after_s"),
        "redraws_per_min_median": median("redraws_per_min"),
        "redraws_per_min_max": max(rates),
        "min_gap_s": min(gaps) if gaps else None,
        "chat_update_calls": sum(r["chat_update_calls"] for r in runs),
        "chat_update_429": sum(r["chat_update_429"] for r in runs),
        "all_429": sum(r["all_429"] for r in runs),
        "counted_once": f"{sum(1 for r in runs if r['stored_ok'] and r['revealed_ok'])}/{len(runs)}",
        "problems": [p for r in runs for p in r["problems"]],
    }
    checks = {
        "ack": ratio is not None and ratio <= TARGET_RATIO and app_p99 is not None and app_p99 <= args.far_below * 1000,
        "count": worst_count is not None and worst_count <= args.count_within,
        "redraws": max(rates) <= REDRAWS_PER_MINUTE and row["chat_update_429"] == 0,
        "counted_once": all(r["stored_ok"] and r["revealed_ok"] for r in runs),
        "clean": not row["problems"],
    }
    row["failed"] = [name for name, ok in checks.items() if not ok]
    row["verdict"] = "PASS" if not row["failed"] else "FAIL"
    return row


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"### Session votes: {result['database']}, {result['machine']}",
        "",
        f"Votes within {result['within']} s, then every member changes their vote once within "
        f"{result['sustain']} s; medians over runs (max where said).",
        "",
        "| voters | runs | clicks | ack p99 app / floor (ms) | ratio | ack max (ms) | last vote → count (s), "
        "median / max | last vote → last receipt (s) | redraws/min, median / max | shortest gap (s) | "
        "chat.update (429) | all 429 | counted once | verdict |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["sizes"]:
        lines.append(
            f"| {r['voters']} | {r['runs']} | {r['clicks']} | {r['ack_p99_app_ms']} / {r['ack_p99_floor_ms']} | "
            f"{r['ack_p99_ratio']} | {r['ack_max_app_ms']} | {r['count_after_s_median']} / {r['count_after_s_max']} | "
            f"{r['receipt_after_s_median']} | "
            f"{r['redraws_per_min_median']} / {r['redraws_per_min_max']} | {r['min_gap_s']} | "
            f"{r['chat_update_calls']} ({r['chat_update_429']}) | {r['all_429']} | {r['counted_once']} | "
            f"**{r['verdict']}**{' (' + ', '.join(r['failed']) + ')' if r['failed'] else ''} |"
        )
    lines += [
        "",
        f"Targets: ack p99 <= {TARGET_RATIO} x the no-op floor's and <= {result['far_below'] * 1000:.0f} ms; "
        f"last vote → right count <= {result['count_within']} s; live message redraws <= "
        f"{REDRAWS_PER_MINUTE:.0f}/min (60 % of chat.update's Tier 3, {TIER_3}/min) and no chat.update 429; "
        "every member's last vote stored once and revealed.",
    ]
    for r in result["sizes"]:
        for problem in r["problems"][:10]:
            lines.append(f"- {r['voters']} voters: {problem}")
    lines.append(f"\n**{result['verdict']}**")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voters", default="45,200", help="team sizes, comma-separated (default 45,200)")
    parser.add_argument("--runs", type=int, default=3, help="runs per team size (default 3)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a temporary SQLite file per run; a postgresql://...@127.0.0.1 URL names a server on "
        "which a fresh database is created and dropped per run",
    )
    parser.add_argument("--within", type=float, default=1.0, help="seconds the burst's first clicks spread over")
    parser.add_argument("--sustain", type=float, default=30.0, help="seconds of vote changes after the burst")
    parser.add_argument("--count-within", type=float, default=3.0, help="target: last vote → count (default 3 s)")
    parser.add_argument("--far-below", type=float, default=0.3, help="ack p99 ceiling in seconds (default 0.3)")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound of each wait in a run (default 120 s)")
    parser.add_argument(
        "--worker-tree",
        default=None,
        help="before and after: the worker sidecar runs in this source tree and imports its bot/ (the web "
        "process, which only acks, stays this venv's)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.voters.split(",") if s.strip()]
    except ValueError:
        parser.error("--voters: comma-separated numbers")
    if not sizes or not all(2 <= s <= 500 for s in sizes) or args.runs < 1:
        parser.error("--voters between 2 and 500 each, --runs at least 1")
    try:
        rows, database = [], ""
        for size in sizes:
            runs = [one_run(args, size, run) for run in range(args.runs)]
            database = runs[0]["database"]
            rows.append(judge(args, size, runs))
            rows[-1]["runs_detail"] = runs
    except (RuntimeError, OSError, ValueError, AssertionError) as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2
    result = {
        "database": database,
        "machine": machine(),
        "within": args.within,
        "sustain": args.sustain,
        "count_within": args.count_within,
        "far_below": args.far_below,
        "sizes": rows,
        "verdict": "PASS" if all(r["verdict"] == "PASS" for r in rows) else "FAIL",
    }
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else markdown(result))
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
