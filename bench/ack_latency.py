"""Benchmark: how fast the Slack app acknowledges requests under concurrent assessments (issue 3).

N simulated users each run `/compass start`, then click an answer for every question as
it appears in their DM, until the report arrives: all at once, against
``compass serve --http`` (tests/harness.AppProcess) and the fake Slack Web API
(tests/fakeslack.py). Ack latency is the time from sending a signed HTTP request to
receiving its HTTP response, which is what Slack's 3-second limit measures.

In the same run, the floor: a no-op Bolt app (bench/noop_app.py: same signing secret,
same listeners that only ack, no database) served the same way (gunicorn gthread via
``bot.run.web.serve_http``, same worker, thread and listener-executor counts, Bolt's WSGI
adapter) gets the very same request stream (the same bodies, re-signed) from the same
number of concurrent users, each user keeping the pauses its counterpart made waiting
for the next question (``--floor-pacing replay``, the default) or sending back to back
(``closed``).

Target: p99(app) <= 1.5 x p99(floor), and p99(app) far below Slack's 3 s (here: at most
``--far-below``, default 0.3 s, a tenth of it), with every request acked.

    .venv/bin/python bench/ack_latency.py                        # 30 users, shipped bank, SQLite
    .venv/bin/python bench/ack_latency.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/ack_latency.py --users 10 --questions tests/data/questions_small.json --json

A PostgreSQL URL names a server: a fresh database is created on it, migrated, and dropped
afterwards. Only 127.0.0.1 is ever contacted. Exit status: 0 PASS, 1 FAIL, 2 error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))  # the fake Slack and the harness live there

from fakeslack import FakeSlack  # noqa: E402
from harness import FORM, AppProcess, Reply, Slack, button  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SLACK_LIMIT = 3.0
TARGET_RATIO = 1.5
NOOP_APP = Path(__file__).resolve().parent / "noop_app.py"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
REPORT_TEXT = "Your MLOps maturity"  # the report's fallback text starts with this


class Timeout(Exception):
    pass


# -- the fake Slack, telling each waiting user when their DM changes ----------------------


class WatchedSlack(FakeSlack):
    """FakeSlack that wakes a user's waiting thread when a message in their DM is posted or updated."""

    def __init__(self) -> None:
        super().__init__()
        self._watch_lock = threading.Lock()
        self._watchers: dict[str, threading.Condition] = {}

    def watcher(self, user: str) -> threading.Condition:
        with self._watch_lock:
            return self._watchers.setdefault(user, threading.Condition())

    def _changed(self, channel: str, ts: str) -> None:
        # Every change to a message (posted, chat.update, replaced through the click's response_url)
        # passes here; a DM channel id is "D" + the user's id in the fake.
        super()._changed(channel, ts)
        if channel[:1] in ("D", "U"):
            condition = self.watcher(channel[1:])
            with condition:
                condition.notify_all()

    def wait_dm(self, user: str, predicate: Callable[[], Any], deadline: float) -> Any:
        condition = self.watcher(user)
        with condition:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout(f"{user}: no DM update before the deadline")
                condition.wait(min(remaining, 1.0))


# -- servers -----------------------------------------------------------------------------


class FloorProcess(AppProcess):
    """bench/noop_app.py instead of ``compass serve --http``; otherwise started and stopped alike."""

    name = "the no-op app"

    def command(self) -> list[str]:
        return [sys.executable, str(NOOP_APP), *self.args]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc), 0 where unavailable."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


@dataclass
class CpuMeter:
    """CPU used during the load phase by the server, by this process (clients + fake Slack), and overall."""

    server_pids: list[int]
    wall: float = 0.0
    server: float = 0.0
    bench: float = 0.0
    machine_busy: float = 0.0

    def __enter__(self) -> CpuMeter:
        self._t = time.perf_counter()
        self._server = _cpu_seconds(self.server_pids)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self._bench = usage.ru_utime + usage.ru_stime
        self._machine = _machine_busy()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._t
        self.server = _cpu_seconds(self.server_pids) - self._server
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.bench = usage.ru_utime + usage.ru_stime - self._bench
        busy, total = _machine_busy()
        spent = total - self._machine[1]
        self.machine_busy = (busy - self._machine[0]) / spent * (os.cpu_count() or 1) if spent else 0.0

    def cores(self) -> dict[str, float]:
        w = self.wall or 1.0
        return {"server": self.server / w, "bench": self.bench / w, "machine": self.machine_busy}


def wait_for_quiet(limit: float, busy_cores: float = 0.3) -> float:
    """Wait (at most ``limit`` s) until other work on the machine uses under ``busy_cores``; return what it used."""
    deadline = time.monotonic() + limit
    while True:
        before = _machine_busy()
        time.sleep(1.0)
        after = _machine_busy()
        spent = after[1] - before[1]
        used = (after[0] - before[0]) / spent * (os.cpu_count() or 1) if spent else 0.0
        if used < busy_cores or time.monotonic() >= deadline:
            return round(used, 2)


# -- load --------------------------------------------------------------------------------


@dataclass
class Step:
    """One request of a user's stream, kept for the floor: what was sent, after what pause."""

    kind: str  # "command" or "click"
    body: str  # unsigned; signed again when replayed
    pause: float  # seconds from the previous response (or the start) to this request


@dataclass
class UserRun:
    user: str
    steps: list[Step] = field(default_factory=list)
    latencies: list[tuple[str, float]] = field(default_factory=list)
    shown: list[float] = field(default_factory=list)  # request sent -> its DM update seen (the app only)
    end_to_end: float | None = None
    error: str | None = None


def _send(slack: Slack, body: str) -> Reply:
    reply = slack.send(body, FORM)
    if reply.status != 200:
        raise RuntimeError(f"HTTP {reply.status}: {reply.body[:200]}")
    return reply


def assess(
    fake: WatchedSlack, slack: Slack, user: str, rng: random.Random, limit: int, deadline: float, think: float = 0.0
) -> UserRun:
    """One user's assessment on the real app: start, click what each DM update asks, until the report.

    ``think``: seconds a user reads each question before clicking (0: click as soon as it shows).
    """
    run = UserRun(user)
    seen: set[str] = set()  # answer_1 values of questions already answered

    def next_move() -> Any:
        messages = fake.dm_messages(user)
        if any(m.text.startswith(REPORT_TEXT) for m in messages):
            return "report"
        for message in reversed(messages):
            try:
                first = button(message, "answer_1")
            except AssertionError:
                continue
            return message if first.get("value") not in seen else None
        return None

    started = last = time.perf_counter()
    try:
        body = slack.command_body(user, "start")
        run.steps.append(Step("command", body, 0.0))
        sent = time.perf_counter()
        run.latencies.append(("command", _send(slack, body).seconds))
        last = time.perf_counter()
        for _ in range(limit):
            move = fake.wait_dm(user, next_move, deadline)
            run.shown.append(time.perf_counter() - sent)
            if move == "report":
                run.end_to_end = time.perf_counter() - started
                return run
            seen.add(str(button(move, "answer_1").get("value")))
            if think > 0:
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))
            body = slack.click_body(user, button(move, f"answer_{rng.randint(1, 4)}"), move.channel, move.ts)
            run.steps.append(Step("click", body, time.perf_counter() - last))
            sent = time.perf_counter()
            run.latencies.append(("click", _send(slack, body).seconds))
            last = time.perf_counter()
        raise RuntimeError(f"no report after {limit} clicks")
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        return run


def replay(slack: Slack, user: str, steps: list[Step], pace: bool, deadline: float) -> UserRun:
    """One user's recorded stream against the floor, with the recorded pauses (or none)."""
    run = UserRun(user)
    started = time.perf_counter()
    try:
        for step in steps:
            if pace and step.pause > 0:
                time.sleep(step.pause)
            if time.monotonic() > deadline:
                raise Timeout("deadline passed during the replay")
            run.latencies.append((step.kind, _send(slack, step.body).seconds))
        run.end_to_end = time.perf_counter() - started
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    return run


def concurrently(work: list[Callable[[], UserRun]], deadline: float) -> tuple[list[UserRun], float]:
    """Run every user at once (released together); the wall-clock is from release to the last finish."""
    results: list[UserRun | None] = [None] * len(work)
    gate = threading.Barrier(len(work) + 1)

    def runner(i: int) -> None:
        gate.wait()
        results[i] = work[i]()

    threads = [threading.Thread(target=runner, args=(i,), daemon=True) for i in range(len(work))]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 35)  # a request in flight has 30 s to finish
    wall = time.perf_counter() - started
    runs = [
        r if r is not None else UserRun(f"user{i}", error="still running at the deadline")
        for i, r in enumerate(results)
    ]
    return runs, wall


# -- figures -----------------------------------------------------------------------------


def summary(runs: list[UserRun], wall: float) -> dict[str, Any]:
    every = [s for r in runs for _, s in r.latencies]
    out: dict[str, Any] = {
        "requests": len(every),
        "wall_s": round(wall, 3),
        "errors": [r.error for r in runs if r.error],
    }
    out["acks_per_s"] = round(len(every) / wall, 1) if wall > 0 else None
    out["all"] = _percentiles(every)
    for kind in ("command", "click"):
        out[kind] = _percentiles([s for r in runs for k, s in r.latencies if k == kind])
    out["shown"] = _percentiles([s for r in runs for s in r.shown])
    out["end_to_end"] = _percentiles([r.end_to_end for r in runs if r.end_to_end is not None], scale=1.0)
    return out


def _percentiles(values: list[float], scale: float = 1000.0) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {
        "count": len(values),
        "p50": round(cuts[49] * scale, 2),
        "p95": round(cuts[94] * scale, 2),
        "p99": round(cuts[98] * scale, 2),
        "max": round(max(values) * scale, 2),
    }


def machine() -> str:
    cpu = platform.machine()
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


# -- databases ---------------------------------------------------------------------------


@contextmanager
def scratch_database(url: str | None) -> Iterator[tuple[str, str]]:
    """Yield (url, label): a temporary SQLite file, a given SQLite URL, or a fresh PostgreSQL database."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="compass-ack-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'compass.db'}", "SQLite"
        return
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "sqlite":
        yield url, "SQLite"
        return
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"--database-url: SQLite or PostgreSQL only, got {parsed.get_backend_name()}")
    if (parsed.host or "127.0.0.1") not in LOCAL_HOSTS:
        raise ValueError(f"--database-url: this benchmark talks to 127.0.0.1 only, not {parsed.host}")
    os.environ["COMPASS_TEST_POSTGRES_URL"] = url
    import conftest  # the test suite's create/drop helpers

    from bot.db import migrate
    from bot.db.session import make_engine

    conftest.POSTGRES_URL = url
    fresh = conftest.create_postgres_database()
    try:
        engine = make_engine(fresh)
        migrate.upgrade(engine)  # compass serve migrates only SQLite by itself (the release step does PostgreSQL)
        with engine.connect() as conn:
            version = conn.exec_driver_sql("show server_version").scalar()
        engine.dispose()
        yield fresh, f"PostgreSQL {str(version).split()[0]}"
    finally:
        conftest.drop_postgres_database(fresh)


# -- the run -----------------------------------------------------------------------------


def web_processes(pid: int, children: list[int]) -> dict[str, Any]:
    """The resident memory of a server's web processes (itself and its gunicorn workers, not the
    worker sidecar) and whether any of them has the plotting library loaded (Linux /proc)."""
    rss_kb, plotting = 0, False
    for p in (pid, *children):
        try:
            argv = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
            if argv[1:4] == [b"-m", b"bot", b"worker"]:  # the sidecar: bot/run/sidecars.py
                continue
            status = Path(f"/proc/{p}/status").read_text()
            plotting = plotting or "matplotlib" in Path(f"/proc/{p}/maps").read_text()
        except OSError:
            continue
        rss_kb += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {"rss_mb": round(rss_kb / 1024, 1), "plotting": plotting}


def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.timeout
    rng = random.Random(args.seed)
    server_args = ("--workers", str(args.workers))
    busy_before: dict[str, float] = {}  # cores other work used just before each load phase
    with scratch_database(args.database_url) as (db_url, db_label), WatchedSlack() as fake:
        # -- the app --------------------------------------------------------------------
        threads = {"COMPASS_WORKER_THREADS": str(args.worker_threads)}
        app = AppProcess(fake.api_url, db_url, args.questions, threads, args=(*server_args, "--no-scheduler"))
        with app:
            slack = Slack(app.url, fake.response_url())
            limit = 4 * len(json.loads(args.questions.read_text())["questions"]) + 4
            warm = [assess(fake, slack, f"UWARM{i:03d}", rng, limit, deadline) for i in range(args.warmup)]
            users = [f"UBENCH{i:04d}" for i in range(args.users)]
            seeds = [rng.random() for _ in users]
            assert app.proc is not None
            busy_before["app"] = wait_for_quiet(args.wait_idle)
            with CpuMeter([app.proc.pid, *app.children()]) as app_cpu:
                app_runs, app_wall = concurrently(
                    [
                        (lambda u=u, s=s: assess(fake, slack, u, random.Random(s), limit, deadline, args.think))
                        for u, s in zip(users, seeds, strict=True)
                    ],
                    deadline,
                )
            fake.wait_idle(quiet=0.3, timeout=max(0.5, min(10.0, deadline - time.monotonic())))
            block_errors = list(fake.block_errors)
            app_web = web_processes(app.proc.pid, app.children())
        # -- the floor, same stream -----------------------------------------------------
        floor = FloorProcess(fake.api_url, "sqlite:///unused-by-the-no-op-app.db", args.questions, args=server_args)
        with floor:
            slack = Slack(floor.url, fake.response_url())
            for w in warm:
                replay(slack, w.user, w.steps, pace=False, deadline=deadline)
            assert floor.proc is not None
            pace = args.floor_pacing == "replay"
            busy_before["floor"] = wait_for_quiet(args.wait_idle)
            with CpuMeter([floor.proc.pid, *floor.children()]) as floor_cpu:
                floor_runs, floor_wall = concurrently(
                    [(lambda r=r: replay(slack, r.user, r.steps, pace, deadline)) for r in app_runs], deadline
                )
            floor_web = web_processes(floor.proc.pid, floor.children())
    app_sum, floor_sum = summary(app_runs, app_wall), summary(floor_runs, floor_wall)
    app_p99, floor_p99 = app_sum["all"]["p99"], floor_sum["all"]["p99"]
    ratio = round(app_p99 / floor_p99, 2) if app_p99 is not None and floor_p99 else None
    complete = not app_sum["errors"] and not floor_sum["errors"] and all(r.end_to_end for r in app_runs)
    passed = bool(complete and ratio is not None and ratio <= TARGET_RATIO and app_p99 <= args.far_below * 1000)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "database": db_label,
        "users": args.users,
        "questions": len(json.loads(args.questions.read_text())["questions"]),
        "bank": str(args.questions),
        "workers": args.workers,
        "worker_threads": args.worker_threads,
        "floor_pacing": args.floor_pacing,
        "think_s": args.think,
        "app": app_sum,
        "floor": floor_sum,
        "cpu_cores": {"app": app_cpu.cores(), "floor": floor_cpu.cores()},
        # the web side only (serve and its gunicorn workers, not the worker sidecar), after the load
        "web_rss_mb": {"app": app_web["rss_mb"], "floor": floor_web["rss_mb"]},
        "web_imports_plotting": app_web["plotting"],
        "other_load_before": busy_before,
        "block_errors": block_errors[:5],
        "p99_ratio": ratio,
        "target": f"p99 <= {TARGET_RATIO}x floor and <= {args.far_below * 1000:.0f} ms (Slack's limit: 3000 ms)",
        "verdict": "PASS" if passed else "FAIL",
    }


def markdown(result: dict[str, Any]) -> str:
    def row(name: str, part: dict[str, Any], key: str, rate: Any = "") -> str:
        p = part[key]
        cells = [name, p["count"], p["p50"], p["p95"], p["p99"], p["max"], rate]
        return "| " + " | ".join("–" if c is None else str(c) for c in cells) + " |"

    app, floor = result["app"], result["floor"]
    lines = [
        f"Ack latency, {result['users']} concurrent users × {result['questions']} questions, "
        f"think time {result['think_s']} s, {result['database']}, {result['workers']} gunicorn worker(s); "
        f"{result['machine']}",
        "",
        "| ack latency (ms) | count | p50 | p95 | p99 | max | acks/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row("compass serve --http", app, "all", app["acks_per_s"]),
        row("↳ /compass start", app, "command"),
        row("↳ answer clicks", app, "click"),
        row(f"no-op Bolt floor ({result['floor_pacing']})", floor, "all", floor["acks_per_s"]),
        row("↳ /compass start", floor, "command"),
        row("↳ answer clicks", floor, "click"),
        "",
    ]
    e2e = app["end_to_end"]
    shown = app["shown"]
    lines.append(
        f"Request sent → the user sees its result in the DM (the next question, the report): p50 {shown['p50']} ms, "
        f"p95 {shown['p95']} ms, p99 {shown['p99']} ms."
    )
    lines.append(
        f"End to end per assessment (start → report): p50 {e2e['p50']} s, p95 {e2e['p95']} s, max {e2e['max']} s "
        f"(load phase {app['wall_s']} s; floor {floor['wall_s']} s)."
    )
    cpu = result["cpu_cores"]
    for name, label in (("app", "app"), ("floor", "floor")):
        c = cpu[name]
        lines.append(
            f"CPU during the {label} load, in cores: server {c['server']:.2f}, bench process (clients + fake Slack) "
            f"{c['bench']:.2f}, whole machine {c['machine']:.2f} (other work just before: "
            f"{result['other_load_before'].get(name)})."
        )
    rss = result["web_rss_mb"]
    lines.append(
        f"Web processes' resident memory after the load: app {rss['app']} MB, floor {rss['floor']} MB; "
        f"plotting library loaded in the app's web processes: {'yes' if result['web_imports_plotting'] else 'no'}."
    )
    for name, part in (("app", app), ("floor", floor)):
        if part["errors"]:
            lines.append(f"{len(part['errors'])} {name} user(s) failed, first: {part['errors'][0]}")
    if result["block_errors"]:
        lines.append(f"Block Kit errors seen by the fake Slack: {result['block_errors']}")
    lines.append("")
    lines.append(f"p99(app) / p99(floor) = {result['p99_ratio']}; target {result['target']}: **{result['verdict']}**")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30, help="concurrent simulated users (default 30)")
    parser.add_argument(
        "--questions", type=Path, default=ROOT / "questions.json", help="question bank (default: shipped)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a temporary SQLite file; a postgresql://...@127.0.0.1 URL names a server on which a fresh "
        "database is created and dropped",
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers for both servers (compass default: 1)")
    parser.add_argument(
        "--worker-threads", type=int, default=8, help="threads of the app's worker process (compass default: 8)"
    )
    parser.add_argument("--floor-pacing", choices=("replay", "closed"), default="replay")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a user reads a question before clicking (default 0: click as soon as it shows)",
    )
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured assessments before the load (default 1)")
    parser.add_argument("--seed", type=int, default=3, help="random seed for the answers")
    parser.add_argument("--far-below", type=float, default=0.3, help="p99 ceiling in seconds (default 0.3)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=30.0,
        help="before each load phase, wait up to this many seconds for other work on the machine to stop",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds (default 300)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 500:
        parser.error("--users must be between 1 and 500")
    if not args.questions.is_file():
        parser.error(f"--questions: no such file {args.questions}")
    args.questions = args.questions.resolve()
    try:
        result = run(args)
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else markdown(result))
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
