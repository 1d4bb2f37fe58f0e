"""The group-commit writer of delivery signals (bot/app/ingest.py), in process, on SQLite and PostgreSQL:
a batch keeps each delivery's own answer, a bad row fails only its own request, a slow database
gives up after the patience and stores nothing of what it gave up."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from signal_payloads import github_push
from sqlalchemy import func, select

from bot.app import signals
from bot.app.ingest import Delivery, DeliveryWriter, Ingest, NotStored, _Result
from bot.app.signals import Checked, Incoming, Outcome
from bot.db import signals as store
from bot.db.models import SignalDelivery, SignalEventRow
from bot.db.setup import Database
from bot.domain.signals import SourceKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECRET = "writer-secret"


def _source(database: Database) -> store.Source:
    made = signals.add_source(database.sessions, SourceKind.GITHUB, "C0W", NOW, created_by="test", secret=SECRET)
    with database.sessions() as s:
        found = store.find_source(s, made.source.id)
    assert found is not None
    return found


def _incoming(source: store.Source, n: int, delivery: str | None = None, secret: str = SECRET) -> Incoming:
    sha = hashlib.sha1(f"writer-{n}".encode()).hexdigest()
    body = json.dumps(github_push([(sha, "2026-11-30T09:00:00Z")], after=sha)).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "x-github-event": "push",
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-hub-signature-256": signature,
    }
    return Incoming("github", source.id, headers, body)


def _checked(source: store.Source, n: int, delivery: str | None = None) -> Checked:
    checked = signals.check(source, _incoming(source, n, delivery), NOW)
    assert isinstance(checked, Checked)
    return checked


def _counts(database: Database) -> tuple[int, int]:
    with database.sessions() as s:
        return int(s.scalar(select(func.count(SignalDelivery.id))) or 0), int(
            s.scalar(select(func.count(SignalEventRow.id))) or 0
        )


def test_one_batch_answers_each_delivery_and_a_repeat_in_the_same_batch_is_a_duplicate(database: Database) -> None:
    source = _source(database)
    writer = DeliveryWriter(database.sessions)
    answers = writer.commits.write_batch([Delivery(_checked(source, n, delivery=f"d-{n % 3}"), NOW) for n in range(5)])
    assert [a.result()[0] for a in answers] == [_Result.STORED] * 3 + [_Result.DUPLICATE] * 2
    assert _counts(database) == (3, 3)


def test_each_answer_counts_only_the_events_its_delivery_stored(database: Database) -> None:
    # The same commit in two deliveries of one batch (and again in a later batch): stored once,
    # counted once, by the delivery that stored it.
    source = _source(database)
    writer = DeliveryWriter(database.sessions)
    same = [_checked(source, 1), _checked(source, 1), _checked(source, 2)]
    answers = writer.commits.write_batch([Delivery(c, NOW) for c in same])
    assert [a.result() for a in answers] == [(_Result.STORED, 1), (_Result.STORED, 0), (_Result.STORED, 1)]
    (again,) = writer.commits.write_batch([Delivery(_checked(source, 2), NOW)])
    assert again.result() == (_Result.STORED, 0)
    assert _counts(database) == (4, 2)


def test_a_bad_row_fails_only_its_own_request(database: Database) -> None:
    source = _source(database)
    writer = DeliveryWriter(database.sessions)
    good = [_checked(source, n) for n in range(3)]
    event = replace(good[1].events[0], at=None)  # type: ignore[arg-type]  # NOT NULL on both databases
    bad = replace(_checked(source, 9), events=(event,))
    answers = writer.commits.write_batch([Delivery(c, NOW) for c in (good[0], bad, good[1], good[2])])
    assert [a.exception() is None for a in answers] == [True, False, True, True]
    assert [answers[i].result()[0] for i in (0, 2, 3)] == [_Result.STORED] * 3
    assert _counts(database) == (3, 3)


def test_concurrent_receives_store_each_once_and_say_so(database: Database) -> None:
    source = _source(database)
    ingest = Ingest(database.sessions)
    sends = [_incoming(source, n, delivery=f"c-{n % 20}") for n in range(40)]
    with ThreadPoolExecutor(16) as pool:
        receipts = list(pool.map(lambda i: ingest.receive(i, NOW), sends))
    ingest.close()
    outcomes = [r.outcome for r in receipts]
    assert outcomes.count(Outcome.STORED) == 20 and outcomes.count(Outcome.DUPLICATE) == 20
    assert _counts(database) == (20, 20)


def test_a_forged_delivery_is_refused_even_with_the_source_cached(database: Database) -> None:
    source = _source(database)
    ingest = Ingest(database.sessions)
    assert ingest.receive(_incoming(source, 1), NOW).outcome is Outcome.STORED
    assert ingest.receive(_incoming(source, 2, secret="forged"), NOW).outcome is Outcome.UNAUTHORIZED
    ingest.close()
    assert _counts(database) == (1, 1)


def test_a_request_the_database_cannot_take_in_time_gives_up_and_what_was_still_queued_is_never_stored(
    database: Database, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("holds SQLite's write lock")
    source = _source(database)
    ingest = Ingest(database.sessions, patience=0.3)
    assert ingest.receive(_incoming(source, 0), NOW).outcome is Outcome.STORED  # the source is cached now
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for a long time
    started = time.monotonic()
    with pytest.raises(NotStored):
        ingest.receive(_incoming(source, 1), NOW)
    assert time.monotonic() - started < 2
    # A second request queued behind the first is given up before the writer takes it: never stored.
    queued = _incoming(source, 2)
    late = threading.Thread(target=lambda: pytest.raises(NotStored, ingest.receive, queued, NOW))
    late.start()
    late.join()
    holder.execute("ROLLBACK")
    holder.close()
    ingest.close()
    with database.sessions() as s:
        stored = set(s.scalars(select(SignalDelivery.delivery_id)))
    # The first was in a transaction already under way (a redelivery would be "already stored"); not the second.
    assert queued.headers["x-github-delivery"] not in stored and len(stored) <= 2
