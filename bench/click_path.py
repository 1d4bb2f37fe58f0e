"""Benchmark: a whole team answering at once, under Slack's rate tiers (issue 17).

Everything runs against the fake Slack Web API (tests/fakeslack.py), which enforces Slack's tiers
(``TIERS``: a bucket per method and workspace, chat.postMessage also per channel, a true Retry-After)
and answers a click's response_url as Slack does (5 uses, ``replace_original``). For each configuration
(people × backend × pace), on a fresh database, with the people all members of one team (a digest channel
with a source of delivery signals, 90 days of events, so every click reads the team's measurements;
``--no-team``: no team):

1. click → next question, p50 and p95 (ms). Black box: the real ``compass serve --http``
   (tests/harness.AppProcess: gunicorn plus the worker sidecar). Each person is a thread: ``/compass
   start``, wait for the question message, (pause,) click an answer button of the live question (a signed
   block_actions whose response_url names the message), and time from sending the click until the fake
   shows the next question in the DM (the report after the last one). The fake wakes the person's
   thread on every change to their DM (``wait_for_change``), so there is no polling error.
2. answers per second: answers shown / the time from the first click to the last report (to the last
   answer shown when some never finish); how many people finished, how many got stuck (no progress
   ``--stuck`` s after a click, default 60: they stop there), and the app log's errors.
3. Slack calls per answer: every call the fake got in the run (the starts' and the reports' included,
   and the calls it answered 429), by tier (the fake's TIERS: Tier 1/2/3/4, special = chat.postMessage
   and auth.test), response_url and other (a file's bytes); Tier 3 per answer against the target of
   0.05; 429s (``fake.rate_limited``).
4. CPU per answer, by process (ms): user + system time from /proc of every process under ``compass
   serve`` (the web process and its gunicorn workers, the worker sidecars, the chart process a worker
   starts) and of this script itself (the people and the fake Slack), from just before the first person
   starts to the end of the run (after the reports' charts and App Homes), divided by the answers shown.
   On a 2-core machine their sum says how close the run came to using both cores.
5. transactions and SQL statements per click, in-process: the worker's handler table
   (``bot.slack.work.handlers(client, deps)``, a ``Deps`` over a real database, a WebClient on a fake of its
   own) runs one person's whole questionnaire, after a warm-up person; SQLAlchemy's engine events count
   ``begin``/``commit``/``rollback`` and the statements (``before_cursor_execute``; SQLite's ``BEGIN
   IMMEDIATE`` counts as the transaction, not as a statement). The queue's own transactions (enqueue,
   lease, finish) are not included: the in-process run calls the handlers directly.

Pace ``reading``: a pause before each click, exponential with a 1 s mean (not part of the timed click);
``none``: a click as soon as the question shows. Each person's answers and pauses come from ``--seed``
and the run number, so two trees get the same clicks.

Before and after: ``--compass`` picks the compass executable (default: this tree's .venv/bin/compass).
Its own virtualenv also prepares the team (and migrates) and runs the in-process part: in this process
when it is the running one, else as ``<that venv>/bin/python bench/click_path.py --in-process-only``.
The fake Slack and the harness always come from this script's tests/ folder, ``bot`` from the venv.
Every process is started outside any source tree: ``python -m bot`` (the worker sidecar) would
otherwise import the bot/ of its working directory rather than its venv's.

    .venv/bin/python bench/click_path.py --quick            # 10 people, 1 run, both backends and paces
    .venv/bin/python bench/click_path.py --quick --compass /work/wt-base/.venv/bin/compass
    .venv/bin/python bench/click_path.py --runs 3           # 30,100 people × sqlite,postgresql × reading,none
    /work/wt-base/.venv/bin/python bench/click_path.py --in-process-only   # that venv's bot, in-process only

A PostgreSQL run creates a database on ``--postgres-url`` (default COMPASS_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:5432/test) and drops it afterwards. Every wait is bounded (``--stuck``
per person and click, ``--timeout`` per run). Output: a markdown table per configuration (``--json``:
the figures). Exit status: 0 when everyone finished with at most 0.05 Tier 3 calls per answer in every
run, 1 otherwise, 2 on an error.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import _databases  # first: it puts this tree's tests/ on sys.path (the fake Slack, the harness)
from fakeslack import BOT_TOKEN, TEAM_ID, TIERS, FakeSlack, Message
from harness import AppProcess, Slack, button, buttons, children_of

ROOT = _databases.ROOT
SHIPPED_BANK = ROOT / "questions.json"
QUESTION = re.compile(r"^Question (\d+) of (\d+)")  # a question message's fallback text
REPORT = "Your MLOps maturity"  # the report's fallback text starts with this
TARGET_TIER3_PER_ANSWER = 0.05
TIER_NAMES = {1: "Tier 1", 20: "Tier 2", 50: "Tier 3", 100: "Tier 4", 300: "special"}
CALL_KINDS = ("Tier 1", "Tier 2", "Tier 3", "Tier 4", "special", "response_url", "other")
TEAM_CHANNEL = "C0TEAMBENCH"
LEAD = "U0LEAD"
# Where every process this script starts runs: `python -m bot` (the worker sidecar) and `python -c` would
# take a bot/ folder in their working directory before the one their virtualenv installed.
ELSEWHERE = tempfile.mkdtemp(prefix="compass-click-path-")
atexit.register(shutil.rmtree, ELSEWHERE, ignore_errors=True)
REF = re.compile(r"ref `[0-9a-f]+`")  # the error reference in an error reply
LOG_PROBLEM = re.compile(r"Traceback|ERROR|CRITICAL|ratelimited|\b429\b", re.IGNORECASE)


# -- which code is measured --------------------------------------------------------------


def default_compass() -> Path:
    own = ROOT / ".venv" / "bin" / "compass"
    return own if own.exists() else Path(sys.executable).parent / "compass"


def tree_of(path: Path) -> str:
    """The git tree a path lies in, with its commit (and ``+changes`` when its tracked files differ)."""
    folder = path if path.is_dir() else path.parent
    try:
        top = _git(folder, "rev-parse", "--show-toplevel")
        commit = _git(folder, "rev-parse", "--short", "HEAD")
        dirty = _git(folder, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return str(folder)
    return f"{top} @ {commit}{' +changes' if dirty else ''}"


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True)
    return done.stdout.strip()


def compass_tree(compass: Path) -> str:
    """Where the compass executable's virtualenv takes ``bot`` from (its python is asked)."""
    python = compass.with_name("python")
    try:
        found = subprocess.run(
            [str(python), "-c", "import bot, pathlib; print(pathlib.Path(bot.__file__).resolve().parent)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            cwd=ELSEWHERE,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(compass)
    return tree_of(Path(found))


# -- the team: its digest channel and delivery signals ----------------------------------------


def users_for(people: int) -> list[str]:
    return [f"U{i:03d}CLICK" for i in range(people)]


def team_events(now: datetime) -> list[str]:
    """90 days of a busy team's generic events (JSON Lines): deployments every other day, each after two
    pushed changes, some failed, incidents restored within hours, training runs and model releases."""
    events: list[dict[str, Any]] = []

    def at(moment: datetime) -> str:
        return moment.isoformat()

    for i in range(45):
        deployed = now - timedelta(days=2 * i, hours=3)
        head = f"{i:020x}{1:020x}"  # the deployed commit: the second change of the push
        pushed = deployed - timedelta(hours=6)
        for j in range(2):
            change = {"sha": f"{i:020x}{j:020x}", "head": head, "pushed_at": at(pushed)}
            events.append(
                {"type": "change", "id": f"c{i}-{j}", "at": at(pushed - timedelta(hours=7 * (1 - j))), **change}
            )
        kind = "deployment_failed" if i % 9 == 4 else "deployment"
        events.append({"type": kind, "id": f"d{i}", "at": at(deployed), "sha": head})
    for i in range(4):
        opened = now - timedelta(days=20 * i + 5)
        events.append(
            {"type": "incident_opened", "id": f"i{i}", "at": at(opened), "root_cause": f"{4 * i:020x}{1:020x}"}
        )
        events.append({"type": "incident_resolved", "id": f"i{i}", "at": at(opened + timedelta(hours=3 + i))})
    for i in range(24):
        events.append(
            {"type": "training_run", "id": f"t{i}", "at": at(now - timedelta(days=3.5 * i)), "model": f"m{i % 2}"}
        )
    for i in range(6):
        released = now - timedelta(days=14 * i + 1)
        version = {"model": f"m{i % 2}", "version": str(10 - i), "version_created_at": at(released - timedelta(days=1))}
        events.append({"type": "model_deployed", "id": f"v{i}", "at": at(released), **version})
    return [json.dumps(event) for event in events]


def prepare_team(url: str, bank_path: Path, users: list[str]) -> None:
    """Migrate the database (the running tree's migrations) and make ``users`` one team: the members of a
    digest channel with a source of delivery signals, so that every click reads the team's measurements
    (as the scheduler's member sync and ``compass signals import`` would have set it up)."""
    from bot.app import digests, signals
    from bot.app.context import AppContext
    from bot.app.types import Who
    from bot.db import digests as digest_rows
    from bot.db.setup import open_database
    from bot.domain.questionnaire import load_questionnaire
    from bot.domain.signals import SourceKind

    now = datetime.now(UTC)
    database = open_database(url, auto_migrate=True)
    try:
        ctx = AppContext(database.sessions, load_questionnaire(bank_path))
        digests.subscribe_digest(ctx, Who(TEAM_ID, LEAD), TEAM_CHANNEL, "weekly", now - timedelta(days=60))
        subscription = digests.channel_subscription(ctx, TEAM_ID, TEAM_CHANNEL, now)
        assert subscription is not None
        with database.sessions.begin() as session:
            digest_rows.replace_members(session, subscription.id, [LEAD, *users])
        made = signals.add_source(
            database.sessions, SourceKind.EVENTS, TEAM_CHANNEL, now, created_by=LEAD, team=TEAM_ID, secret="bench"
        )
        signals.import_events(database.sessions, made.source.id, team_events(now), now)
    finally:
        database.dispose()


def prepare_with(args: argparse.Namespace, url: str, users: list[str]) -> None:
    """``prepare_team`` by the compass executable's tree: here, or by its venv's python running this script."""
    if runs_here(args):
        prepare_team(url, args.questions, users)
        return
    command = [
        str(args.compass.with_name("python")),
        str(Path(__file__).resolve()),
        f"--prepare-team={url}",
        f"--people={len(users)}",
        f"--questions={args.questions}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ELSEWHERE)
    if done.returncode != 0:
        raise RuntimeError(f"preparing the team under {command[0]} failed:\n{done.stderr[-2000:]}")


def runs_here(args: argparse.Namespace) -> bool:
    """Whether the compass executable's virtualenv is the running one (else its own python is asked)."""
    python = args.compass.with_name("python")
    same = os.path.abspath(Path(sys.executable).parent) == os.path.abspath(args.compass.parent)
    return same or not python.exists()


# -- the black box: compass serve --http and a thread per person ---------------------------


class CompassProcess(AppProcess):
    """``compass serve --http`` of the chosen executable (the harness takes the running venv's)."""

    def __init__(self, compass: Path, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, cwd=Path(ELSEWHERE), **kwargs)
        self.compass = compass

    def command(self) -> list[str]:
        return [str(self.compass), "serve", "--http", "--no-scheduler", *self.args]

    def with_workers(self, processes: int, threads: int | None) -> CompassProcess:
        """Run ``processes`` worker sidecars of ``threads`` threads (None: compass's default), set in the
        environment, so that an older compass without the setting still runs."""
        if processes != 1:
            self.env["COMPASS_WORKER_PROCESSES"] = str(processes)
        if threads is not None:
            self.env["COMPASS_WORKER_THREADS"] = str(threads)
        return self

    def upgrade(self) -> None:
        """The release step (PostgreSQL is not migrated by ``serve``), with this executable's migrations."""
        done = subprocess.run(
            [str(self.compass), "db", "upgrade"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ELSEWHERE,
        )
        if done.returncode != 0:
            raise RuntimeError(f"compass db upgrade failed: {done.stderr.strip() or done.stdout.strip()}")


@dataclass
class Person:
    user: str
    rng: random.Random
    latencies: list[float] = field(default_factory=list)  # seconds, click sent -> next question (report) shown
    answers: int = 0  # clicks whose next question (or report) showed
    total: int = 0
    first_click: float | None = None
    last_shown: float | None = None  # when the latest next question (or the report) showed
    finished_at: float | None = None
    stuck: str | None = None  # why this person stopped without the report
    timed_out: bool = False  # stopped by the run's timeout rather than by --stuck
    failed_requests: int = 0  # HTTP answers other than 200, or no answer
    jumps: int = 0  # the next question shown was not the one after the clicked one


@dataclass(frozen=True)
class Crowd:
    fake: FakeSlack
    slack: Slack
    reading: bool
    stuck: float  # seconds without progress after which a person gives up
    deadline: float  # time.monotonic() at which the whole run gives up


def live_question(messages: list[Message]) -> tuple[Message, int, int] | None:
    """The newest DM message that shows a question with answer buttons: (message, number, total)."""
    for message in reversed(messages):
        found = QUESTION.match(message.text)
        if found and any(b["action_id"].startswith("answer_") for b in buttons(message)):
            return message, int(found.group(1)), int(found.group(2))
    return None


def wait_for_dm(crowd: Crowd, person: Person, predicate: Callable[[], Any], after: int) -> Any:
    """``predicate()`` once it is true, woken by each change to the person's DM since version ``after``;
    None after ``crowd.stuck`` seconds (or at the run's deadline)."""
    channel = f"D{person.user}"
    end = min(time.monotonic() + crowd.stuck, crowd.deadline)
    version = after
    while True:
        value = predicate()
        if value:
            return value
        remaining = end - time.monotonic()
        if remaining <= 0:
            person.timed_out = time.monotonic() >= crowd.deadline
            return None
        changed = crowd.fake.wait_for_change(channel, None, version, remaining)
        if changed is None:
            person.timed_out = time.monotonic() >= crowd.deadline
            return None
        version = changed


def _send(person: Person, request: Callable[[], Any]) -> None:
    try:
        if request().status != 200:
            person.failed_requests += 1
    except OSError:
        person.failed_requests += 1


def take(crowd: Crowd, person: Person) -> None:
    """One person's whole questionnaire: start, then an answer per question, until the report."""
    fake, slack, user = crowd.fake, crowd.slack, person.user
    channel = f"D{user}"
    before = fake.message_version(channel)
    _send(person, lambda: slack.command(user, "start"))
    live = wait_for_dm(crowd, person, lambda: live_question(fake.dm_messages(user)), before)
    if live is None:
        person.stuck = "no question after /compass start"
        return
    while True:
        message, number, total = live
        person.total = total
        if crowd.reading:
            time.sleep(max(0.0, min(person.rng.expovariate(1.0), crowd.deadline - time.monotonic())))
        pressed = button(message, f"answer_{person.rng.randint(1, 4)}")
        before = fake.message_version(channel)
        sent = time.perf_counter()
        person.first_click = person.first_click or sent
        _send(person, lambda: slack.click(user, pressed, message.channel, message.ts))  # noqa: B023

        def moved_on(number: int = number, total: int = total) -> Any:
            messages = fake.dm_messages(user)
            if number == total:
                return any(m.text.startswith(REPORT) for m in messages)
            shown = live_question(messages)
            return shown if shown is not None and shown[1] > number else None

        shown = wait_for_dm(crowd, person, moved_on, before)
        if shown is None:
            person.stuck = f"no progress for {crowd.stuck:.0f} s after answering question {number} of {total}"
            return
        now = time.perf_counter()
        person.latencies.append(now - sent)
        person.answers += 1
        person.last_shown = now
        if number == total:
            person.finished_at = now
            return
        if shown[1] != number + 1:
            person.jumps += 1
        live = shown


def tier_of(method: str) -> str:
    if method == "response_url":
        return "response_url"
    return TIER_NAMES.get(TIERS.get(method, 0), "other")


def slack_calls(fake: FakeSlack) -> dict[str, Any]:
    methods = Counter(c.method for c in list(fake.calls))
    limited = Counter(c.method for c in list(fake.limited_calls))
    by_kind: Counter[str] = Counter()
    for method, n in methods.items():
        by_kind[tier_of(method)] += n
    return {"by_method": dict(methods), "by_kind": dict(by_kind), "rate_limited": dict(limited)}


def log_problems(log: str) -> dict[str, Any]:
    lines = [line.strip() for line in log.splitlines() if LOG_PROBLEM.search(line)]
    distinct = Counter(re.sub(r"\d", "#", line)[:160] for line in lines)
    return {"lines": len(lines), "tracebacks": log.count("Traceback"), "first": distinct.most_common(5)}


CPU_ROLES = ("worker", "charts", "web", "benchmark")
TICK = os.sysconf("SC_CLK_TCK")


def _role(cmdline: str) -> str:
    if "multiprocessing" in cmdline:
        return "charts"  # the chart process a worker draws reports' charts in
    if " worker" in cmdline:
        return "worker"
    return "web"  # compass serve: the gunicorn master and its forked workers


CpuReading = dict[int, tuple[str, float]]  # pid -> (role, CPU seconds so far)


def process_cpu(root: int) -> CpuReading:
    """CPU seconds (user + system) so far of ``root`` and every process below it, with each one's role.
    Read from /proc while they run: a process that has exited is no longer counted."""
    found: CpuReading = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[pid] = (_role(cmdline), (int(stat[11]) + int(stat[12])) / TICK)
        todo.extend(children_of(pid))
    return found


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_by_role(before: CpuReading, after: CpuReading, own: float) -> dict[str, float]:
    """CPU seconds each role spent between the two readings (a process started in between counts whole)."""
    spent = dict.fromkeys(CPU_ROLES, 0.0)
    for pid, (role, seconds) in after.items():
        spent[role] += seconds - before.get(pid, (role, 0.0))[1]
    spent["benchmark"] = own
    return {role: round(seconds, 2) for role, seconds in spent.items()}


def settle(fake: FakeSlack, finished: list[str], timeout: float = 60.0) -> None:
    """Wait for the calls that follow a report (its radar chart, drawn first, and App Home) before they are
    counted: until every finished person's DM has a file and their App Home a view, then 1 s of quiet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        charted = {u.channel_id for u in fake.files}
        if all(f"D{user}" in charted and user in fake.views for user in finished):
            break
        time.sleep(0.1)
    fake.wait_idle(quiet=1.0, timeout=max(1.0, deadline - time.monotonic()))


def black_box(args: argparse.Namespace, backend: str, people: int, pace: str, seed: int) -> dict[str, Any]:
    users = users_for(people)
    load_before = os.getloadavg()[0]
    with (
        _databases.scratch_database(backend, args.server) as url,
        FakeSlack() as fake,
    ):
        app = CompassProcess(args.compass, fake.api_url, url, args.questions)
        app.with_workers(args.worker_processes, args.worker_threads)
        if args.team:
            prepare_with(args, url, users)  # also migrates, with the measured tree's migrations
        elif backend == "postgresql":
            app.upgrade()
        with app:
            deadline = time.monotonic() + args.timeout
            crowd = Crowd(fake, Slack(app.url, fake.response_url()), pace == "reading", args.stuck, deadline)
            crowd_people = [Person(u, random.Random(f"{seed}:{u}")) for u in users]
            gate = threading.Barrier(len(users) + 1)

            def runner(person: Person) -> None:
                gate.wait()
                try:
                    take(crowd, person)
                except Exception as exc:  # a bug in the benchmark or a reply it did not expect
                    person.stuck = f"{type(exc).__name__}: {exc}"

            threads = [threading.Thread(target=runner, args=(p,), daemon=True) for p in crowd_people]
            for thread in threads:
                thread.start()
            assert app.proc is not None
            cpu_before, own_before = process_cpu(app.proc.pid), own_cpu()
            gate.wait()
            for thread in threads:  # a request in flight has 30 s to finish after the deadline
                thread.join(max(0.0, deadline - time.monotonic()) + 35)
            settle(fake, [p.user for p in crowd_people if p.finished_at is not None])
            cpu = cpu_by_role(cpu_before, process_cpu(app.proc.pid), own_cpu() - own_before)
            calls = slack_calls(fake)
            limited = fake.rate_limited
            block_errors = list(fake.block_errors)
            replies = Counter(REF.sub("ref `…`", str(r.get("text", "")))[:100] for r in list(fake.responses))
            log = app.log()
        log_path = app.log_path
    for thread, person in zip(threads, crowd_people, strict=True):
        if thread.is_alive() and person.stuck is None:
            person.stuck, person.timed_out = "still running at the run's timeout", True
    problems = log_problems(log)
    if problems["lines"] == 0:
        log_path.unlink(missing_ok=True)
    figures = summarise_run(crowd_people, calls, limited, block_errors, replies, problems, str(log_path), load_before)
    answers = figures["answers"]
    figures["cpu_s"] = cpu
    figures["cpu_ms_per_answer"] = {r: round(1000 * v / answers, 1) if answers else None for r, v in cpu.items()}
    return figures


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def summarise_run(
    people: list[Person],
    calls: dict[str, Any],
    limited: int,
    block_errors: list[str],
    replies: Counter[str],
    problems: dict[str, Any],
    log_path: str,
    load_before: float,
) -> dict[str, Any]:
    latencies = [s for p in people for s in p.latencies]
    answers = sum(p.answers for p in people)
    firsts = [p.first_click for p in people if p.first_click is not None]
    finishes = [p.finished_at for p in people if p.finished_at is not None]
    shown = [p.last_shown for p in people if p.last_shown is not None]
    wall = max(shown) - min(firsts) if firsts and shown else None  # to the last report when all finished
    per_answer = {kind: round(calls["by_kind"].get(kind, 0) / answers, 3) if answers else None for kind in CALL_KINDS}
    stuck = [p for p in people if p.stuck is not None and not p.timed_out]
    return {
        "people": len(people),
        "answers": answers,
        "click_ms": {
            "p50": _ms(_percentile(latencies, 50)),
            "p95": _ms(_percentile(latencies, 95)),
            "max": _ms(max(latencies, default=None)),
        },
        "wall_s": None if wall is None else round(wall, 2),
        "answers_per_s": round(answers / wall, 1) if wall else None,
        "finished": len(finishes),
        "stuck": len(stuck),
        "timed_out": sum(1 for p in people if p.timed_out),
        "why_stuck": dict(Counter(p.stuck for p in people if p.stuck is not None).most_common(5)),
        "failed_requests": sum(p.failed_requests for p in people),
        "question_jumps": sum(p.jumps for p in people),
        "calls": calls,
        "calls_per_answer": per_answer,
        "tier3_per_answer": per_answer["Tier 3"],
        "rate_limited": limited,
        "block_errors": block_errors[:5],
        "ephemeral_replies": dict(replies.most_common(5)),
        "app_log": {**problems, "path": log_path if problems["lines"] else None},
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


# -- in-process: transactions and statements per click ------------------------------------


class SqlCounter:
    """Transactions and statements on an engine, read before and after each handler call."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._statement)
        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, lambda _conn, name=name: self._add(name))

    def _add(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: the transaction itself
            self._add("statements")

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)


def one_questionnaire(url: str, bank_path: Path, user: str, seed: int) -> list[dict[str, Any]]:
    """``user``'s start and every answer through the worker's handler table, on a fake Slack of its own
    (fresh budgets): what each handler call cost (transactions, statements, Slack calls, time)."""
    from slack_sdk import WebClient

    from bot.app.context import AppContext
    from bot.db.setup import open_database
    from bot.domain.questionnaire import load_questionnaire
    from bot.slack.deps import Deps
    from bot.slack.work import handlers, work_for

    rng = random.Random(f"{seed}:{user}")
    steps: list[dict[str, Any]] = []
    database = open_database(url, auto_migrate=False)
    try:
        counter = SqlCounter(database.engine)
        with FakeSlack() as fake:
            deps = Deps(AppContext(database.sessions, load_questionnaire(bank_path)))
            table = handlers(WebClient(token=BOT_TOKEN, base_url=fake.api_url), deps)
            slack = Slack("http://127.0.0.1:9", fake.response_url())  # builds bodies only

            def run(kind: str, body: dict[str, Any], label: str) -> None:
                before, calls_before = counter.snapshot(), len(fake.calls)
                started = time.perf_counter()
                table[kind](json.loads(json.dumps(body)))  # through JSON, as the queue hands it over
                elapsed = time.perf_counter() - started
                after = counter.snapshot()
                kinds = Counter(tier_of(c.method) for c in list(fake.calls)[calls_before:])
                step = {"step": label, "ms": elapsed * 1000, "tier3": kinds["Tier 3"], "calls": sum(kinds.values())}
                step.update({k: after[k] - before[k] for k in ("begin", "commit", "rollback", "statements")})
                steps.append(step)

            run("command", dict(parse_qsl(slack.command_body(user, "start"))), "start")
            for _ in range(500):
                live = live_question(fake.dm_messages(user))
                if live is None:
                    break
                message, number, total = live
                pressed = button(message, f"answer_{rng.randint(1, 4)}")
                clicked = dict(parse_qsl(slack.click_body(user, pressed, message.channel, message.ts)))
                label = "last answer" if number == total else "answer"
                run(work_for(pressed["action_id"]).value, json.loads(clicked["payload"]), label)
            if fake.block_errors:
                raise RuntimeError(f"Block Kit errors: {fake.block_errors[:3]}")
            if not any(m.text.startswith(REPORT) for m in fake.dm_messages(user)):
                raise RuntimeError(f"{user} got no report in-process: {[m.text[:60] for m in fake.dm_messages(user)]}")
    finally:
        database.dispose()
    return steps


def in_process(backend: str, server: str, bank_path: Path, seed: int, team: bool) -> dict[str, Any]:
    """One person's questionnaire, after a warm-up person, on a fresh database of this tree's schema."""
    import bot
    from bot.db.setup import open_database

    with _databases.scratch_database(backend, server) as url:
        if team:
            prepare_team(url, bank_path, ["U0WARMUP", "U0MEASURE"])
        else:
            open_database(url, auto_migrate=True).dispose()
        one_questionnaire(url, bank_path, "U0WARMUP", seed)  # the workspace's first person: not measured
        steps = one_questionnaire(url, bank_path, "U0MEASURE", seed)

    def figures(label: str, how: Callable[[list[float]], float] = statistics.median) -> dict[str, Any]:
        chosen = [s for s in steps if s["step"] == label]
        found = {k: round(how([s[k] for s in chosen]), 2) for k in STEP_FIGURES}
        return {**found, "ms": round(found["ms"], 1), "count": len(chosen)}

    return {
        "backend": backend,
        "tree": tree_of(Path(bot.__file__).resolve().parent),
        "team": team,
        "start": figures("start"),
        "answer": figures("answer"),
        "answer_mean": figures("answer", statistics.fmean),
        "answer_max": figures("answer", max),
        "last_answer": figures("last answer"),
    }


STEP_FIGURES = ("begin", "commit", "rollback", "statements", "calls", "tier3", "ms")


def in_process_part(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The in-process figures of the compass executable's tree: here, or by its own venv's python."""
    if args.in_process_only or runs_here(args):
        return [in_process(b, args.server, args.questions, args.seed, args.team) for b in args.backends]
    command = [
        str(args.compass.with_name("python")),
        str(Path(__file__).resolve()),
        "--in-process-only",
        "--json",
        f"--backends={','.join(args.backends)}",
        f"--questions={args.questions}",
        f"--seed={args.seed}",
        f"--postgres-url={args.server}",
        *(() if args.team else ("--no-team",)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, cwd=ELSEWHERE)
    if done.returncode != 0:
        raise RuntimeError(f"the in-process part under {command[0]} failed:\n{done.stderr[-2000:]}")
    found: list[dict[str, Any]] = json.loads(done.stdout)["in_process"]
    return found


# -- figures across runs, and the tables -----------------------------------------------------

# (key, row label, figure of one run)
FIGURES: tuple[tuple[str, str, Callable[[dict[str, Any]], Any]], ...] = (
    ("p50_ms", "click → next question p50 (ms)", lambda r: r["click_ms"]["p50"]),
    ("p95_ms", "click → next question p95 (ms)", lambda r: r["click_ms"]["p95"]),
    ("max_ms", "click → next question max (ms)", lambda r: r["click_ms"]["max"]),
    ("answers_per_s", "answers per second", lambda r: r["answers_per_s"]),
    ("wall_s", "first click → last report (s; to the last answer shown if some never finished)", lambda r: r["wall_s"]),
    ("answers", "answers shown", lambda r: r["answers"]),
    ("finished", "finished", lambda r: r["finished"]),
    ("stuck", "stuck (no progress for --stuck s)", lambda r: r["stuck"]),
    ("timed_out", "still waiting at --timeout", lambda r: r["timed_out"]),
    ("tier3_per_answer", "**Tier 3 calls per answer** (target ≤ 0.05)", lambda r: r["tier3_per_answer"]),
    *(
        (f"{kind}_per_answer", f"{kind} calls per answer", lambda r, kind=kind: r["calls_per_answer"][kind])
        for kind in CALL_KINDS
        if kind != "Tier 3"
    ),
    ("rate_limited", "429s (fake.rate_limited)", lambda r: r["rate_limited"]),
    ("failed_requests", "requests not answered 200", lambda r: r["failed_requests"]),
    ("log_problems", "app log: problem lines", lambda r: r["app_log"]["lines"]),
    *(
        (f"cpu_{role}", f"CPU per answer, {role} (ms)", lambda r, role=role: r["cpu_ms_per_answer"][role])
        for role in CPU_ROLES
    ),
)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for key, _, get in FIGURES:
        values = [v for v in (get(r) for r in runs) if v is not None]
        out[key] = round(statistics.median(values), 3) if values else None
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def configuration_table(config: dict[str, Any]) -> list[str]:
    runs = config["runs"]
    title = (
        f"### {config['backend_label']}, {config['people']} people, "
        f"{'reading pace (1 s mean pause)' if config['pace'] == 'reading' else 'no pause'}"
    )
    heads = [f"run {i + 1}" for i in range(len(runs))] + (["median"] if len(runs) > 1 else [])
    lines = [title, "", "| | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for key, name, get in FIGURES:
        cells = [_cell(get(r)) for r in runs] + ([_cell(config["median"][key])] if len(runs) > 1 else [])
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for i, r in enumerate(runs):
        notes = []
        if r["why_stuck"]:
            notes.append(f"why people stopped: {r['why_stuck']}")
        if r["rate_limited"]:
            notes.append(f"429s by method: {r['calls']['rate_limited']}")
        if r["app_log"]["lines"]:
            notes.append(f"app log ({r['app_log']['path']}): {r['app_log']['first'][:3]}")
        if r["ephemeral_replies"]:
            notes.append(f"ephemeral replies: {r['ephemeral_replies']}")
        if r["block_errors"]:
            notes.append(f"Block Kit errors: {r['block_errors']}")
        if r["question_jumps"]:
            notes.append(f"{r['question_jumps']} times the next question shown was not the next one")
        notes.append(f"load average {r['load_before']} → {r['load_after']}")
        lines.append(f"- run {i + 1}: " + "; ".join(notes))
    return lines


def summary_table(configs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| backend | people | pace | p50 ms | p95 ms | answers/s | finished | stuck | Tier 3 / answer | 429s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in configs:
        m = c["median"]
        cells = [
            c["backend_label"],
            c["people"],
            c["pace"],
            *(m[key] for key in ("p50_ms", "p95_ms", "answers_per_s", "finished", "stuck")),
            *(m[key] for key in ("tier3_per_answer", "rate_limited")),
        ]
        lines.append("| " + " | ".join(_cell(v) for v in cells) + " |")
    return lines


def in_process_table(parts: list[dict[str, Any]]) -> list[str]:
    lines = [
        "In-process, one person's questionnaire through the worker's handler table, per handler call (the "
        "queue's own transactions, enqueue, lease and finish, are not included; SQLite's BEGIN IMMEDIATE is "
        "counted as the transaction, not as a statement):",
        "",
        "| backend | call | count | transactions | commits | rollbacks | SQL statements | Slack calls | Tier 3 | ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for part in parts:
        for key, label in (
            ("start", "`/compass start`"),
            ("answer", "answer click, median"),
            ("answer_mean", "answer click, mean"),
            ("answer_max", "answer click, most"),
            ("last_answer", "last answer"),
        ):
            f = part[key]
            cells = [BACKEND_LABELS[part["backend"]], label, f["count"]]
            cells += [f[k] for k in ("begin", "commit", "rollback", "statements", "calls", "tier3", "ms")]
            lines.append("| " + " | ".join(_cell(v) for v in cells) + " |")
    trees = sorted({p["tree"] for p in parts})
    team = "members of a team with delivery signals" if parts[0]["team"] else "in no team"
    lines += ["", f"(bot from {', '.join(trees)}; the person is one of two {team})"]
    return lines


BACKEND_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"## Click path under Slack's tiers: {result['tree']}", ""]
    lines.append(
        f"{result['date']}; {result['machine']}; {result['questions']} questions ({result['bank']}); "
        f"compass: {result['compass']}; --stuck {result['stuck_s']} s, --timeout {result['timeout_s']} s; "
        f"seed {result['seed']}; worker processes: {result.get('worker_processes', 1)}, "
        f"threads: {result.get('worker_threads') or 'default'}; "
        + ("the people are one team with delivery signals." if result["team"] else "the people are in no team.")
    )
    lines.append("")
    if result["configurations"]:
        lines += summary_table(result["configurations"]) + [""]
        for config in result["configurations"]:
            lines += configuration_table(config) + [""]
    if result["in_process"]:
        lines += in_process_table(result["in_process"]) + [""]
    lines.append(f"**{result['verdict']}**: {result['verdict_why']}")
    return "\n".join(lines)


# -- the command -------------------------------------------------------------------------------


def _list(kind: Callable[[str], Any], allowed: tuple[str, ...] = ()) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        values = [kind(v.strip()) for v in text.split(",") if v.strip()]
        if not values or (allowed and any(v not in allowed for v in values)):
            raise argparse.ArgumentTypeError(f"a comma-separated list of {', '.join(allowed) or 'numbers'}")
        return values

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=_list(int), default=[30, 100], help="comma-separated (default 30,100)")
    parser.add_argument(
        "--backends",
        type=_list(str, ("sqlite", "postgresql")),
        default=["sqlite", "postgresql"],
        help="comma-separated (default sqlite,postgresql)",
    )
    parser.add_argument(
        "--pace", type=_list(str, ("reading", "none")), default=["reading", "none"], help="default reading,none"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each configuration, medians across them (3)")
    parser.add_argument("--questions", type=Path, default=SHIPPED_BANK, help="question bank (default: the shipped one)")
    parser.add_argument("--quick", action="store_true", help="10 people, 1 run: to try it out")
    parser.add_argument("--compass", type=Path, default=default_compass(), help="the compass executable to measure")
    parser.add_argument(
        "--in-process-only", action="store_true", help="only the in-process part, with this python's bot"
    )
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process part")
    parser.add_argument(
        "--no-team",
        dest="team",
        action="store_false",
        help="people in no team (default: all members of one digest channel with delivery signals)",
    )
    parser.add_argument("--prepare-team", metavar="URL", help=argparse.SUPPRESS)  # used by a run of another tree
    parser.add_argument("--stuck", type=float, default=60.0, help="seconds without progress before a person gives up")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a run may take before it gives up")
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="worker processes beside serve (COMPASS_WORKER_PROCESSES)"
    )
    parser.add_argument("--worker-threads", type=int, default=None, help="threads per worker (COMPASS_WORKER_THREADS)")
    parser.add_argument("--seed", type=int, default=17, help="seeds every person's answers and pauses")
    parser.add_argument("--postgres-url", default=None, help="the PostgreSQL server for scratch databases")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.prepare_team:
        return args
    if args.quick:
        args.people, args.runs = [10], 1
    if args.runs < 1 or any(not 1 <= n <= 500 for n in args.people):
        parser.error("--runs must be at least 1 and --people between 1 and 500")
    if not args.questions.is_file():
        parser.error(f"--questions: no such file {args.questions}")
    args.questions = args.questions.resolve()
    args.compass = Path(os.path.abspath(args.compass))
    if not args.in_process_only and not args.compass.exists():
        parser.error(f"--compass: no such file {args.compass}")
    args.server = _databases.postgres_url(args.postgres_url)
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    say = print_err  # progress on stderr, the tables (or JSON) on stdout
    configs = [
        {"backend": b, "backend_label": BACKEND_LABELS[b], "people": n, "pace": pace, "runs": []}
        for b in args.backends
        for n in args.people
        for pace in args.pace
    ]
    if args.in_process_only:
        configs = []
    for r in range(args.runs):  # runs outermost: each configuration's runs are spread over the session
        for config in configs:
            say(f"run {r + 1}/{args.runs}: {config['backend_label']}, {config['people']} people, pace {config['pace']}")
            figures = black_box(args, config["backend"], config["people"], config["pace"], args.seed + r)
            config["runs"].append(figures)
            say(
                f"  p50 {figures['click_ms']['p50']} ms, p95 {figures['click_ms']['p95']} ms, "
                f"{figures['answers_per_s']} answers/s, finished {figures['finished']}/{figures['people']}, "
                f"stuck {figures['stuck']}, Tier 3/answer {figures['tier3_per_answer']}, 429s {figures['rate_limited']}"
            )
    for config in configs:
        config["median"] = median_of(config["runs"])
    parts: list[dict[str, Any]] = []
    if not args.no_in_process:
        say("in-process: one person's questionnaire through the handler table")
        parts = in_process_part(args)
    unfinished = [c for c in configs for r in c["runs"] if r["finished"] < r["people"]]
    over = [c for c in configs for r in c["runs"] if (r["tier3_per_answer"] or 0) > TARGET_TIER3_PER_ANSWER]
    why = []
    if unfinished:
        why.append(f"{len(unfinished)} run(s) with people who never got their report")
    if over:
        why.append(f"{len(over)} run(s) over {TARGET_TIER3_PER_ANSWER} Tier 3 calls per answer")
    bank = json.loads(args.questions.read_text())
    questions = bank.get("questions", bank) if isinstance(bank, dict) else bank
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _databases.machine(),
        "tree": compass_tree(args.compass) if configs else (parts[0]["tree"] if parts else "?"),
        "compass": str(args.compass),
        "bank": str(args.questions),
        "questions": len(questions) if isinstance(questions, list) else "?",
        "stuck_s": args.stuck,
        "timeout_s": args.timeout,
        "seed": args.seed,
        "worker_processes": args.worker_processes,
        "worker_threads": args.worker_threads,
        "team": args.team,
        "configurations": configs,
        "in_process": parts,
        "verdict": "FAIL" if why else "PASS",
        "verdict_why": "; ".join(why) if why else "everyone finished, Tier 3 calls per answer within the target",
    }


def print_err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.prepare_team:  # run by prepare_with under another tree's python
        prepare_team(args.prepare_team, args.questions.resolve(), users_for(args.people[0]))
        return 0
    try:
        result = run(args)
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str) if args.json else markdown(result))
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
