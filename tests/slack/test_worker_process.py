"""The worker as a process: `compass serve --no-worker` only acks and queues, `compass worker`
does the work later, and a worker started by `compass serve` dies with it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from conftest import SMALL_BANK
from fakeslack import FakeSlack
from harness import COMPASS, AppProcess, Slack, text_of

from bot.db.setup import open_database
from bot.queue.store import QueueStore


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_requests_acked_without_a_worker_wait_in_the_queue_until_one_runs(database_url: str, tmp_path: Path) -> None:
    with FakeSlack() as fake, AppProcess(fake.api_url, database_url, SMALL_BANK, args=("--no-worker",)) as app:
        slack = Slack(app.url, fake.response_url())
        reply = slack.command("U0LATER", "start")
        assert reply.status == 200 and "Check your DMs" in reply.body
        db = open_database(database_url, auto_migrate=False)
        try:
            fake.wait_for(lambda: _waiting(db) == 1)
            time.sleep(0.3)
            assert fake.dm_messages("U0LATER") == []  # nobody does the work yet
            health = app.get("/healthz")
            assert health.status == 200 and "queue: 1 waiting, oldest " in health.body
            assert "workers: 0 live" in health.body
            log = (tmp_path / "worker.log").open("wb")
            worker = subprocess.Popen([str(COMPASS), "worker", "--threads", "1"], env=app.env, stdout=log, stderr=log)
            try:
                message = fake.wait_for(lambda: fake.dm_messages("U0LATER") and fake.dm_messages("U0LATER")[-1])
                assert "Question 1 of" in text_of(message)
                fake.wait_for(lambda: _waiting(db) == 0)
                assert "queue: 0 waiting, oldest 0 s" in app.get("/healthz").body
                assert "workers: 1 live" in app.get("/healthz").body
            finally:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=15) == 0, (tmp_path / "worker.log").read_text()
            assert "workers: 0 live" in app.get("/healthz").body  # a clean stop takes its beat away
        finally:
            db.dispose()


def _waiting(db) -> int:  # type: ignore[no-untyped-def]
    return QueueStore(db.sessions).backlog()[0]


def sidecars(app: AppProcess) -> dict[str, int]:
    """The live `python -m bot <command>` children of compass serve, by command."""
    found = {}
    for pid in app.children():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[1:3] == [b"-m", b"bot"] and alive(pid):
            found[cmd[3].decode()] = pid
    return found


def test_the_worker_and_scheduler_sidecars_stop_when_serve_is_killed(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        url = f"sqlite:///{tmp_path / 'compass.db'}"
        app = AppProcess(fake.api_url, url, SMALL_BANK, args=("--with-scheduler",)).start()
        assert app.proc is not None
        started = sidecars(app)
        assert set(started) == {"worker", "scheduler"}, started
        os.kill(app.proc.pid, signal.SIGKILL)  # no chance to stop its children
        app.proc.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in started.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [name for name, pid in started.items() if alive(pid)]
        assert not left, f"{left} outlived the serve process that started them"


def test_acks_do_not_wait_for_a_locked_database_and_a_clean_shutdown_keeps_what_they_queued(
    tmp_path: Path,
) -> None:
    path = tmp_path / "compass.db"
    with FakeSlack() as fake:
        app = AppProcess(fake.api_url, f"sqlite:///{path}", SMALL_BANK, args=("--no-worker",)).start()
        slack = Slack(app.url, fake.response_url())
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # nobody else can write until we commit
        replies: list[int] = []
        threads = [
            threading.Thread(target=lambda i=i: replies.append(slack.command(f"U0BURST{i:02d}", "start").status))
            for i in range(30)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert replies == [200] * 30  # every ack went out with the database locked
        stopping = threading.Thread(target=app.stop)  # SIGTERM while all 30 are still in memory
        stopping.start()
        time.sleep(1.0)
        blocker.execute("COMMIT")
        blocker.close()
        stopping.join(timeout=40)
        assert app.proc is not None and app.proc.returncode == 0, app.log()
    db = open_database(f"sqlite:///{path}", auto_migrate=False)
    try:
        assert _waiting(db) == 30
    finally:
        db.dispose()


def test_a_worker_sidecar_that_dies_is_started_again(tmp_path: Path) -> None:
    with FakeSlack() as fake, AppProcess(fake.api_url, f"sqlite:///{tmp_path / 'compass.db'}", SMALL_BANK) as app:
        first = sidecars(app)["worker"]
        os.kill(first, signal.SIGKILL)  # a crash, or the OOM killer
        fake.wait_for(lambda: sidecars(app).get("worker") not in (None, first))
        Slack(app.url, fake.response_url()).command("U0AGAIN", "start")
        message = fake.wait_for(lambda: fake.dm_messages("U0AGAIN") and fake.dm_messages("U0AGAIN")[-1])
        assert "Question 1 of" in text_of(message)
        assert "the worker process exited" in app.log()
