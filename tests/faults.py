"""The three faults of issue 9, each run against real processes under a crowd (tests/crowd.py).

Shared by tests/test_recovery.py, which asserts nothing was lost, skipped or doubled, and
bench/recovery.py, which reports how long people waited after each repair.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crowd import Crowd, Verdict, judge
from fakeslack import FakeSlack
from harness import COMPASS, AppProcess, Slack
from pgcluster import Cluster
from sqlalchemy import select

from bot.db.models import Answer, Assessment, Respondent
from bot.db.setup import Database, open_database

FAULT_AT = 0.4  # of all answers
FINISH_WITHIN = 90.0  # seconds after the repair (a loaded CI machine is slow; the old stale lease was 120 s)


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    log: str  # the app's (and workers') output, to show when a check fails


def question_ids(bank: Path) -> list[str]:
    return [q["id"] for q in json.loads(bank.read_text())["questions"]]


def stored_answers(database: Database) -> Callable[[str], list[tuple[str, int | None]]]:
    def rows(user: str) -> list[tuple[str, int | None]]:
        with database.sessions() as session:
            found = session.execute(
                select(Answer.question_id, Answer.level)
                .join(Assessment, Assessment.id == Answer.assessment_id)
                .join(Respondent, Respondent.id == Assessment.respondent_id)
                .where(Respondent.user_id == user)
            ).all()
        return [(qid, level) for qid, level in found]

    return rows


def _under_fault(
    fake: FakeSlack, app: AppProcess, database_url: str, bank: Path, users: list[str], fault: Callable[[], float]
) -> Verdict:
    ids = question_ids(bank)
    crowd = Crowd(fake, Slack(app.url, fake.response_url()), users).start()
    if not crowd.wait(lambda: crowd.answered() >= FAULT_AT * len(users) * len(ids), 90):
        failed = sum(p.failed_requests for p in crowd.people)
        raise RuntimeError(
            f"the crowd never got going: {crowd.answered()} answers in 90 s, {failed} failed requests\n"
            + app.log()[-3000:]
        )
    busy = [p.user for p in crowd.people if p.finished_at is None]
    broken = time.monotonic()
    repaired = fault()
    crowd.finish(FINISH_WITHIN)
    database = open_database(database_url, auto_migrate=False)
    try:
        return judge(crowd, stored_answers(database), ids, (broken, repaired), busy)
    finally:
        database.dispose()


def crash(database_url: str, bank: Path, users: list[str]) -> Outcome:
    """SIGKILL of serve with everything it started (gunicorn, the worker), then a restart."""
    with FakeSlack() as fake, AppProcess(fake.api_url, database_url, bank) as app:

        def fault() -> float:
            app.kill_group()
            app.start()
            return time.monotonic()  # recovered: /healthz answers 200 again

        return Outcome(_under_fault(fake, app, database_url, bank, users, fault), app.log())


def database_restart(cluster: Cluster, database_url: str, bank: Path, users: list[str], down: float = 2.0) -> Outcome:
    """PostgreSQL stopped (fast shutdown: connections cut), down ``down`` seconds, started again."""
    with FakeSlack() as fake, AppProcess(fake.api_url, database_url, bank) as app:

        def fault() -> float:
            cluster.stop("fast")
            time.sleep(down)
            return cluster.start()  # recovered: the server accepts connections again

        return Outcome(_under_fault(fake, app, database_url, bank, users, fault), app.log())


def worker_killed(database_url: str, bank: Path, users: list[str]) -> Outcome:
    """Two web processes and two workers; one worker gets SIGKILL, the other must take its work over."""
    args = ("--workers", "2", "--no-worker")
    with (
        FakeSlack() as fake,
        AppProcess(fake.api_url, database_url, bank, args=args) as app,
        tempfile.NamedTemporaryFile(prefix="compass-workers-", suffix=".log") as log,
    ):
        workers = [
            subprocess.Popen([str(COMPASS), "worker", "--threads", "4"], env=app.env, stdout=log, stderr=log)
            for _ in range(2)
        ]
        try:

            def fault() -> float:
                os.kill(workers[0].pid, signal.SIGKILL)
                workers[0].wait()
                return time.monotonic()  # the survivor is already running

            verdict = _under_fault(fake, app, database_url, bank, users, fault)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(15)
        return Outcome(verdict, app.log() + Path(log.name).read_text(errors="replace"))
