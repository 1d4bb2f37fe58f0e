"""The worker and the outbox: queued Slack requests done against the fake Slack Web API,
on SQLite and PostgreSQL, with the clock injected where leases run out."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from conftest import T0
from fakeslack import BOT_TOKEN, FakeSlack
from harness import Slack, button, text_of
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.app.context import AppContext
from bot.app.events import claim_event
from bot.db.models import Answer, PendingWork, ProcessedEvent
from bot.db.session import make_engine, make_session_factory
from bot.db.setup import Database, open_database
from bot.domain.questionnaire import Questionnaire
from bot.queue.outbox import Outbox
from bot.queue.store import QueueStore
from bot.queue.worker import HEARTBEAT, LEASE, MAX_ATTEMPTS, UNKNOWN_KIND_WAIT, Worker, WorkerSettings
from bot.run.wiring import EVENT_MEMORY, build_worker
from bot.slack.deps import Deps, utc_now
from bot.slack.ids import Work
from bot.slack.payloads import owner_of
from bot.slack.task import Task
from bot.slack.work import report_lost

USER = "U0WORKER"


@pytest.fixture
def slack(fake: FakeSlack) -> Slack:
    """Builds request bodies exactly as Slack sends them (the app URL is not used here)."""
    return Slack("http://127.0.0.1:9", fake.response_url())


def worker(database: Database, bank: Questionnaire, fake: FakeSlack, clock: Callable[[], datetime] = utc_now) -> Worker:
    deps = Deps(AppContext(database.sessions, bank), clock)
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    return build_worker(deps, client, WorkerSettings(threads=2, poll_seconds=0.01))


@contextmanager
def running(w: Worker) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=w.run, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive(), "the worker did not stop"


def command(slack: Slack, text: str, user: str = USER) -> dict[str, Any]:
    return dict(parse_qsl(slack.command_body(user, text)))


def click(slack: Slack, message: Any, action_id: str, user: str = USER) -> dict[str, Any]:
    body = slack.click_body(user, button(message, action_id), message.channel, message.ts)
    return json.loads(dict(parse_qsl(body))["payload"])


def queue(database: Database, kind: Work | str, body: dict[str, Any], now: datetime | None = None) -> None:
    QueueStore(database.sessions).append([(str(kind), owner_of(body), json.dumps(body))], now or utc_now())


def waiting(database: Database) -> int:
    return QueueStore(database.sessions).backlog()[0]


def test_queued_start_and_answer_are_done_and_leave_the_queue(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    first_q, second_q = small_bank.questions[0], small_bank.questions[1]
    with running(worker(database, small_bank, fake)):
        queue(database, Work.COMMAND, command(slack, "start"))
        message = fake.wait_for(lambda: fake.dm_messages(USER) and fake.dm_messages(USER)[-1])
        assert first_q.text in text_of(message)
        queue(database, Work.ANSWER, click(slack, message, "answer_3"))
        fake.wait_for(lambda: second_q.text in text_of(fake.dm_messages(USER)[-1]))
        fake.wait_for(lambda: waiting(database) == 0)
    with database.sessions() as session:
        assert session.execute(select(Answer.question_id, Answer.level)).all() == [(first_q.id, 3)]


def test_a_failing_request_reaches_the_person_through_the_central_handler(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    with running(worker(database, small_bank, fake)):
        queue(database, Work.COMMAND, command(slack, "start"))
        message = fake.wait_for(lambda: fake.dm_messages(USER) and fake.dm_messages(USER)[-1])
        tampered = click(slack, message, "answer_2")
        tampered["actions"][0]["value"] = "not-a-button-of-ours"
        queue(database, Work.ANSWER, tampered)
        reply = fake.wait_for(lambda: fake.responses and fake.responses[-1])
        fake.wait_for(lambda: waiting(database) == 0)
    assert len(fake.responses) == 1
    assert "out of date" in reply["text"] and reply["response_type"] == "ephemeral"
    with database.sessions() as session:
        assert session.scalars(select(Answer.id)).all() == []


def test_work_a_dead_worker_held_is_done_once_its_lease_runs_out(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    queue(database, Work.COMMAND, command(slack, "start"), T0)
    assert len(QueueStore(database.sessions).lease(T0, LEASE, limit=5)) == 1  # then that worker died
    with running(worker(database, small_bank, fake, clock=lambda: T0 + LEASE - timedelta(seconds=1))):
        time.sleep(0.3)  # thirty polls of the queue
    assert fake.dm_messages(USER) == [] and waiting(database) == 1
    with running(worker(database, small_bank, fake, clock=lambda: T0 + LEASE)):
        fake.wait_for(lambda: waiting(database) == 0)
    assert len(fake.dm_messages(USER)) == 1
    assert small_bank.questions[0].text in text_of(fake.dm_messages(USER)[0])


def test_work_that_keeps_killing_its_worker_is_given_up_and_the_person_told(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    queue(database, Work.COMMAND, command(slack, "start"), T0)
    now = T0
    for _ in range(MAX_ATTEMPTS):
        assert QueueStore(database.sessions).lease(now, LEASE, limit=1)
        now += LEASE
    with running(worker(database, small_bank, fake, clock=lambda: now)):
        reply = fake.wait_for(lambda: fake.responses and fake.responses[-1])
        fake.wait_for(lambda: waiting(database) == 0)
    assert len(fake.responses) == 1
    assert "something went wrong" in reply["text"] and "ref `" in reply["text"]
    assert fake.dm_messages(USER) == []


def test_an_unknown_kind_of_work_is_left_for_a_newer_worker_and_given_up_after_max_attempts(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    """A rolling deploy: a newer web process queued a kind this worker does not know."""
    queue(database, "from-a-newer-release", command(slack, "start"), T0)
    for lease in range(MAX_ATTEMPTS):
        with running(worker(database, small_bank, fake, clock=lambda lease=lease: T0 + UNKNOWN_KIND_WAIT * lease)):
            fake.wait_for(lambda lease=lease: leased_times(database) == lease + 1)
            time.sleep(0.1)  # many polls: the row is put off for UNKNOWN_KIND_WAIT, not taken again
            assert leased_times(database) == lease + 1
        assert fake.responses == [] and waiting(database) == 1  # left in the queue, nobody bothered
    with running(worker(database, small_bank, fake, clock=lambda: T0 + UNKNOWN_KIND_WAIT * MAX_ATTEMPTS)):
        reply = fake.wait_for(lambda: fake.responses and fake.responses[-1])
        fake.wait_for(lambda: waiting(database) == 0)
    assert len(fake.responses) == 1 and "something went wrong" in reply["text"]


def leased_times(database: Database) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(PendingWork.attempts)) or 0)


def test_the_outbox_writes_everything_put_from_many_threads_in_order_per_thread(database: Database) -> None:
    outbox = Outbox(QueueStore(database.sessions), utc_now, lambda exc, entries: pytest.fail(f"lost {entries}: {exc}"))

    def put(t: int) -> None:
        for i in range(50):
            outbox.put(Work.ANSWER.value, f"T1:U{t}", {"thread": t, "i": i})

    threads = [threading.Thread(target=put, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outbox.close()
    outbox.put(Work.BACK.value, "T1:U9", {"after": "close"})  # written directly once the writer is gone
    with database.sessions() as session:
        rows = session.execute(select(PendingWork.kind, PendingWork.payload).order_by(PendingWork.id)).all()
    bodies = [json.loads(payload) for kind, payload in rows if kind == Work.ANSWER.value]
    assert len(bodies) == 200
    for t in range(4):
        assert [b["i"] for b in bodies if b["thread"] == t] == list(range(50))
    assert rows[-1] == (Work.BACK.value, '{"after":"close"}')


def test_requests_the_outbox_cannot_store_are_reported_to_each_person(
    tmp_path: Any, fake: FakeSlack, slack: Slack
) -> None:
    unmigrated = open_database(
        f"sqlite:///{tmp_path / 'empty.db'}", auto_migrate=False, check_schema=False
    )  # no tables
    outbox = Outbox(QueueStore(unmigrated.sessions), utc_now, report_lost, retry_delays=(0.01, 0.01))
    outbox.put(Work.COMMAND.value, "T:U0ONE", command(slack, "start", user="U0ONE"))
    outbox.put(Work.COMMAND.value, "T:U0TWO", command(slack, "history", user="U0TWO"))
    replies = fake.wait_for(lambda: len(fake.responses) >= 2 and fake.responses)
    outbox.close()
    unmigrated.dispose()
    assert len(replies) == 2
    assert all("something went wrong" in r["text"] and r["response_type"] == "ephemeral" for r in replies)


def test_the_worker_forgets_event_ids_older_than_a_day_and_keeps_recent_ones(
    database: Database, small_bank: Questionnaire, fake: FakeSlack
) -> None:
    now = T0 + timedelta(days=10)
    assert claim_event(AppContext(database.sessions, small_bank), "EvOLD", now - EVENT_MEMORY - timedelta(minutes=1))
    assert claim_event(AppContext(database.sessions, small_bank), "EvRECENT", now - timedelta(minutes=5))

    def remembered() -> set[str]:
        with database.sessions() as session:
            return set(session.scalars(select(ProcessedEvent.event_id)))

    with running(worker(database, small_bank, fake, clock=lambda: now)):
        fake.wait_for(lambda: "EvOLD" not in remembered())
    assert remembered() == {"EvRECENT"}


class Recorder:
    """A handler for test kinds of work: notes when each request starts and ends, can be held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.log: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, task: Task) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.log.append(("start", task.body["n"]))
        self.release.wait(timeout=10)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
            self.log.append(("end", task.body["n"]))


def recorded_worker(database: Database, bank: Questionnaire, fake: FakeSlack, recorder: Recorder, **kw: Any) -> Worker:
    deps = Deps(AppContext(database.sessions, bank), kw.pop("clock", utc_now))
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    return build_worker(deps, client, WorkerSettings(poll_seconds=0.01, **kw), {Work.ANSWER: recorder})


def queue_numbered(database: Database, owners: list[str], now: datetime | None = None) -> None:
    rows = [(Work.ANSWER.value, owner, json.dumps({"n": str(n)})) for n, owner in enumerate(owners)]
    QueueStore(database.sessions).append(rows, now or utc_now())


def test_a_worker_runs_at_most_its_thread_count_and_one_request_per_person_at_a_time(
    database: Database, small_bank: Questionnaire, fake: FakeSlack
) -> None:
    recorder = Recorder()
    owners = ["T:A", "T:B", "T:A", "T:C", "T:A", "T:D", "T:B"]
    queue_numbered(database, owners)
    with running(recorded_worker(database, small_bank, fake, recorder, threads=2)):
        fake.wait_for(lambda: waiting(database) == 0 and recorder.running == 0)
    assert recorder.most_at_once == 2
    a_events = [(what, n) for what, n in recorder.log if owners[int(n)] == "T:A"]
    assert a_events == [("start", "0"), ("end", "0"), ("start", "2"), ("end", "2"), ("start", "4"), ("end", "4")]


def test_a_job_longer_than_its_lease_keeps_it_and_runs_once(
    database: Database, small_bank: Questionnaire, fake: FakeSlack
) -> None:
    now = [T0]
    recorder = Recorder()
    recorder.release.clear()
    queue_numbered(database, ["T:A"], T0)
    with running(recorded_worker(database, small_bank, fake, recorder, clock=lambda: now[0], threads=2)):
        fake.wait_for(lambda: recorder.running == 1)
        for step in range(1, 31):  # a minute passes while the job runs: ten leases' worth
            now[0] = T0 + step * HEARTBEAT * 4 / 3  # steps shorter than LEASE - HEARTBEAT, as real time is
            time.sleep(0.1)  # a few turns of the heartbeat, which renews the lease
            assert QueueStore(database.sessions).lease(now[0], LEASE, limit=5) == []
        recorder.release.set()
        fake.wait_for(lambda: waiting(database) == 0)
    assert recorder.log == [("start", "0"), ("end", "0")]


def test_stopping_finishes_the_jobs_in_hand_and_leaves_the_rest_queued(
    database: Database, small_bank: Questionnaire, fake: FakeSlack
) -> None:
    recorder = Recorder()
    recorder.release.clear()
    queue_numbered(database, ["T:A", "T:A", "T:A"])
    stop = threading.Event()
    w = recorded_worker(database, small_bank, fake, recorder, threads=2)
    thread = threading.Thread(target=w.run, args=(stop,))
    thread.start()
    fake.wait_for(lambda: recorder.running == 1)
    stop.set()
    time.sleep(0.1)
    assert thread.is_alive()  # waiting for the job in hand
    recorder.release.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert recorder.log == [("start", "0"), ("end", "0")]
    assert waiting(database) == 2  # the person's later requests wait for the next worker


class LosesTheDatabaseOnce:
    """A handler whose first run finds the database gone, as a use case does while PostgreSQL restarts."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, task: Task) -> None:
        self.runs += 1
        if self.runs == 1:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_a_request_that_met_a_database_outage_is_done_again_after_its_lease_without_an_apology(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    now = [T0]
    handler = LosesTheDatabaseOnce()
    deps = Deps(AppContext(database.sessions, small_bank), lambda: now[0])
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    w = build_worker(deps, client, WorkerSettings(poll_seconds=0.01), {Work.ANSWER: handler})
    queue(database, Work.ANSWER, command(slack, "start"), T0)
    with running(w):
        fake.wait_for(lambda: handler.runs == 1)
        time.sleep(0.2)
        assert waiting(database) == 1 and handler.runs == 1  # kept, leased, not retried at once
        now[0] = T0 + LEASE
        fake.wait_for(lambda: waiting(database) == 0)
    assert handler.runs == 2
    assert fake.responses == []  # the person is not told about an outage they never saw
    outage = [r.getMessage() for r in caplog.records if "database" in r.getMessage()]
    assert outage[0] == "worker: database unavailable (connection refused); retrying until it is back"
    assert len(outage) == 2 and outage[1].startswith("worker: database is back after ")  # one line each way


def test_the_outbox_waits_out_a_database_that_is_away_and_loses_nothing(
    tmp_path: Any, fake: FakeSlack, slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    """The database file's folder does not exist yet: every connection fails until it does."""
    url = f"sqlite:///{tmp_path / 'later' / 'compass.db'}"
    engine = make_engine(url)
    outbox = Outbox(QueueStore(make_session_factory(engine)), utc_now, report_lost, retry_delays=(0.05, 0.1))
    for user in ("U0ONE", "U0TWO", "U0THREE"):
        outbox.put(Work.COMMAND.value, f"T:{user}", command(slack, "start", user=user))
    time.sleep(0.5)  # several attempts fail meanwhile
    # The database comes back whole: made (and migrated) beside, then its folder renamed into place. Made
    # in place, a slow machine's writer could meet the file before its tables.
    staging = tmp_path / "staging"
    open_database(f"sqlite:///{staging / 'compass.db'}").dispose()
    staging.rename(tmp_path / "later")
    back = open_database(url)
    fake.wait_for(lambda: QueueStore(back.sessions).backlog()[0] == 3)
    outbox.close()
    engine.dispose()
    back.dispose()
    assert fake.responses == []  # nobody was told their request was lost
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert lines[0].startswith("web: database unavailable (unable to open database file)")
    assert len(lines) == 2 and lines[1].startswith("web: database is back after ")
