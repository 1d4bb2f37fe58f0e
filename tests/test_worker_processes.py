"""`compass serve --worker-processes N`: N worker processes beside the web process, sharing one queue."""

from __future__ import annotations

import re
import time

from conftest import SMALL_BANK
from fakeslack import FakeSlack
from harness import AppProcess, Slack

PEOPLE = [f"U0WP{n:02d}" for n in range(8)]
LIVE = re.compile(r"^workers: (\d+) live", re.MULTILINE)


def live_now(app: AppProcess) -> int:
    found = LIVE.search(app.get("/healthz").body)
    assert found, "/healthz names no workers"
    return int(found.group(1))


def live_workers(app: AppProcess, want: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    live = 0
    while time.monotonic() < deadline:
        live = live_now(app)
        if live >= want:
            return live
        time.sleep(0.2)
    return live


def test_serve_runs_the_worker_processes_asked_for_and_they_share_the_work(database_url: str) -> None:
    with (
        FakeSlack() as fake,
        AppProcess(fake.api_url, database_url, SMALL_BANK, args=("--worker-processes", "2")) as app,
    ):
        assert live_workers(app, 2) == 2
        slack = Slack(app.url, fake.response_url())
        for user in PEOPLE:
            assert slack.command(user, "start").status == 200
        # Every person gets their first question once, whichever worker leased their request.
        for user in PEOPLE:
            shown = fake.wait_for(lambda u=user: [m for m in fake.dm_messages(u) if m.text.startswith("Question 1")])
            assert len(shown) == 1, user
        assert "Traceback" not in app.log()
        time.sleep(1.0)
        assert live_now(app) == 2
