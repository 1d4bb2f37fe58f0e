"""Benchmark: the fan-out of re-assessment invitations against a rate-limited fake Slack (issue 4).

A digest channel of ``--users`` people (none assessed yet, all inside their working hours
at ``--at``, in several time zones, plus a bot and a deactivated account who must get
nothing) on the fake Slack Web API of tests/fakeslack.py, on 127.0.0.1, which answers
chat.postMessage beyond ``--allowed-rate`` per second (token bucket of ``--burst``) with
HTTP 429 and Retry-After, like Slack. The real ``bot.slack.scheduled.run_due`` sends the invitations
with ``OutreachSettings(send_rate=--allowed-rate)``; its Pacer runs on real time (the
business time ``--at`` is injected as usual).

Reports: invitations sent, drops (people without exactly one DM), the 429s Slack (the
fake) returned, elapsed time, and the achieved rate against the allowed one (target at
least 90 %). A wall-clock budget stops the run if it would go on too long; a watchdog
ends the process if even that fails.

    .venv/bin/python bench/fanout.py                                     # 5,000 people at 50/s: ~100 s
    .venv/bin/python bench/fanout.py --users 1000 --allowed-rate 20 --backend postgresql
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import _databases
from fakeslack import BOT_TOKEN, BOT_USER_ID, TEAM_ID, FakeSlack
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.app.context import AppContext
from bot.app.digests import subscribe_digest
from bot.app.outreach import OutreachSettings
from bot.app.scheduled_run import RunReport
from bot.app.types import Who
from bot.db.models import Send
from bot.db.setup import open_database
from bot.domain.questionnaire import load_questionnaire
from bot.domain.schedule import DEFAULT_HOURS
from bot.slack.pacing import Pacer
from bot.slack.scheduled import run_due

CHANNEL = "C0TEAM"
TARGET_RATIO = 0.9
DEFAULT_AT = "2026-12-01T12:00:00+00:00"  # a Tuesday: 12:00-14:00 local in the zones below
ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Paris",
    "Africa/Lagos",
    "Europe/Helsinki",
    "Asia/Kolkata",
    "America/New_York",
    "Asia/Tokyo",
)


class BudgetExceeded(Exception):
    pass


class BudgetPacer(Pacer):
    """The production pacer (real clock, real sleep) that gives up once the wall-clock budget is spent."""

    def __init__(self, rate: float, deadline: float) -> None:
        super().__init__(rate)
        self.deadline = deadline

    def wait(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded()
        super().wait()


def progress(slack: FakeSlack, started: float, stop: threading.Event, every: float) -> None:
    """Print how far the fan-out got, every ``every`` seconds, until told to stop."""
    while not stop.wait(every):
        with slack._lock:
            sent = len(slack.messages)
            limited = slack.rate_limited
        elapsed = time.monotonic() - started
        print(f"  {elapsed:6.1f} s: {sent:,} sent ({sent / elapsed:.1f}/s), {limited} x 429", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5000, help="people in the digest channel [5000]")
    parser.add_argument("--allowed-rate", type=float, default=50.0, help="chat.postMessage per second [50]")
    parser.add_argument("--burst", type=int, default=3, help="the fake's token bucket size for that method [3]")
    parser.add_argument(
        "--send-rate", type=float, default=None, help="the bot's send_rate, to test a pacer set too fast [allowed]"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--at", default=DEFAULT_AT, help=f"business time of the run (ISO, aware) [{DEFAULT_AT}]")
    parser.add_argument("--budget", type=float, default=None, help="wall-clock seconds [users/rate x 1.5 + 30]")
    parser.add_argument("--postgres-url", default=None, help=f"server [{_databases.DEFAULT_POSTGRES_URL}]")
    args = parser.parse_args(argv)
    send_rate = args.send_rate or args.allowed_rate
    if args.users < 1 or args.allowed_rate <= 0 or args.burst < 1 or send_rate <= 0:
        parser.error("--users, --allowed-rate, --send-rate and --burst must be positive")
    at = datetime.fromisoformat(args.at)
    if at.tzinfo is None:
        parser.error("--at needs a time zone, e.g. 2026-12-01T12:00:00+00:00")
    zones = [z for z in ZONES if DEFAULT_HOURS.contains(at, z)]
    if not zones:
        parser.error(f"--at {args.at} is outside the working hours (Tue-Thu 10-16) in every zone of the bench")
    expected_seconds = args.users / args.allowed_rate
    budget = args.budget or expected_seconds * 1.5 + 30
    faulthandler.dump_traceback_later(budget + 120, exit=True)  # the last resort: never hang
    logging.basicConfig(level=logging.ERROR)  # each 429 is logged as a warning by the sender; counted below

    print(f"# invitation fan-out - {datetime.now(UTC):%Y-%m-%d %H:%M} UTC - {_databases.machine()}")
    print(
        f"# {args.users:,} people, chat.postMessage limited to {args.allowed_rate:g}/s (burst {args.burst}) "
        f"by the fake, send_rate {send_rate:g}/s, {args.backend}, at {at.isoformat()} "
        f"(zones inside working hours: {', '.join(zones)})"
    )
    print(f"# ideal {expected_seconds:.0f} s, budget {budget:.0f} s; load average {os.getloadavg()[0]:.2f}")

    users = [f"U{i:06d}" for i in range(1, args.users + 1)]
    with (
        FakeSlack() as slack,
        _databases.scratch_database(args.backend, _databases.postgres_url(args.postgres_url)) as url,
    ):
        for i, user in enumerate(users):
            slack.add_user(user, tz=zones[i % len(zones)])
        slack.add_user("U0ROBOT", is_bot=True)
        slack.add_user("U0GONE", deleted=True)
        slack.add_user("U0LEAD", tz="UTC")
        slack.add_channel(CHANNEL, [*users, "U0ROBOT", "U0GONE", BOT_USER_ID])
        slack.limit("chat.postMessage", per_second=args.allowed_rate, burst=args.burst)

        db = open_database(url, auto_migrate=True)
        try:
            deps = AppContext(db.sessions, load_questionnaire(_databases.ROOT / "questions.json"))
            # Subscribed in the current period: no digest is due, the run is all invitations.
            subscribe_digest(deps, Who(TEAM_ID, "U0LEAD"), CHANNEL, "monthly", at - timedelta(hours=1))
            settings = OutreachSettings(cadence=timedelta(days=90), hours=DEFAULT_HOURS, send_rate=send_rate)
            client = WebClient(token=BOT_TOKEN, base_url=slack.api_url, timeout=30)

            started = time.monotonic()
            pacer = BudgetPacer(settings.send_rate, deadline=started + budget)
            stop = threading.Event()
            monitor = threading.Thread(target=progress, args=(slack, started, stop, 15.0), daemon=True)
            monitor.start()
            report: RunReport | None = None
            out_of_time = False
            try:
                report = run_due(deps, client, settings, at, pacer)
            except BudgetExceeded:
                out_of_time = True
            finally:
                elapsed = time.monotonic() - started
                stop.set()
                monitor.join()

            with db.sessions() as session:
                ledger: dict[str, Any] = dict(
                    session.execute(
                        select(Send.status, func.count()).where(Send.kind == "prompt").group_by(Send.status)
                    ).all()
                )
        finally:
            db.dispose()

        with slack._lock:
            dms = Counter(channel for channel, _ in slack.messages)
            posts = [c.at for c in slack.calls if c.method == "chat.postMessage"]
            limited = slack.rate_limited

    per_user = [dms.get(f"D{u}", 0) for u in users]
    sent = sum(1 for n in per_user if n >= 1)
    dropped = sum(1 for n in per_user if n == 0)
    duplicated = sum(1 for n in per_user if n > 1)
    strays = sum(dms.get(f"D{u}", 0) for u in ("U0ROBOT", "U0GONE", BOT_USER_ID))
    other_messages = sum(dms.values()) - sum(per_user) - strays  # a digest or a notice: none expected
    rate = sent / elapsed
    window = posts[-1] - posts[0] if len(posts) > 1 else 0.0
    window_rate = (len(posts) - limited - 1) / window if window else 0.0
    ratio = rate / args.allowed_rate
    ok = (
        not out_of_time
        and dropped == 0
        and duplicated == 0
        and strays == 0
        and ledger.get("sent", 0) == args.users
        and ratio >= TARGET_RATIO
    )

    print()
    print(f"run_due report: {report if report else 'stopped by the wall-clock budget'}")
    print(f"ledger (sends, kind=prompt): {ledger}")
    print(
        f"invitations sent: {sent:,} of {args.users:,}; dropped: {dropped}"
        + (" (run stopped early: the ledger leaves them to the next run)" if out_of_time and dropped else "")
        + f"; duplicated: {duplicated}; "
        f"to the bot or deactivated/bot accounts: {strays}; other messages: {other_messages}"
    )
    print(f"chat.postMessage calls: {len(posts):,}, of which answered 429 (Retry-After): {limited}")
    first_post = posts[0] - started if posts else float("nan")
    print(
        f"elapsed: {elapsed:.1f} s for the whole run_due (directory, members, queries, sends; "
        f"first post after {first_post:.1f} s); ideal {expected_seconds:.1f} s"
    )
    print(
        f"achieved rate: {rate:.2f}/s over the whole run = {ratio:.1%} of the allowed {args.allowed_rate:g}/s "
        f"(first to last post: {window_rate:.2f}/s = {window_rate / args.allowed_rate:.1%})"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"{'PASS' if ok else 'FAIL'}: target >= {TARGET_RATIO:.0%} of the allowed rate and zero drops"
        + (" (stopped: wall-clock budget spent)" if out_of_time else "")
    )
    faulthandler.cancel_dump_traceback_later()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
