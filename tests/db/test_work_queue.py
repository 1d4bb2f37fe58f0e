"""The pending-work queue between the web process and the worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from conftest import T0
from sqlalchemy import select

from bot.db import beats
from bot.db.beats import Beater
from bot.db.models import PendingWork
from bot.db.setup import Database, open_database
from bot.queue.store import QueueStore

LEASE = timedelta(minutes=2)


def test_items_are_leased_oldest_first_and_only_once_while_leased(database: Database) -> None:
    QueueStore(database.sessions).append([("answer", f"T1:U{i}", f'{{"n": {i}}}') for i in range(3)], T0)
    QueueStore(database.sessions).append([("back", "T1:U3", '{"n": 3}'), ("answer", "T1:U4", '{"n": 4}')], T0)
    first = QueueStore(database.sessions).lease(T0, LEASE, limit=3)
    assert [item.payload for item in first] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']
    assert all(item.attempts == 1 and item.kind == "answer" for item in first)
    second = QueueStore(database.sessions).lease(T0 + timedelta(seconds=1), LEASE, limit=10)
    assert [(item.kind, item.payload) for item in second] == [("back", '{"n": 3}'), ("answer", '{"n": 4}')]
    assert [item.id for item in first + second] == sorted(item.id for item in first + second)
    assert QueueStore(database.sessions).lease(T0 + timedelta(seconds=2), LEASE, limit=10) == []


def test_finished_items_leave_the_queue(database: Database) -> None:
    QueueStore(database.sessions).append([("command", "T1:U1", "{}")], T0)
    (item,) = QueueStore(database.sessions).lease(T0, LEASE, limit=1)
    assert QueueStore(database.sessions).finish(item) is True
    assert QueueStore(database.sessions).backlog() == (0, None)
    assert QueueStore(database.sessions).lease(T0 + LEASE * 2, LEASE, limit=1) == []


def test_an_expired_lease_is_taken_again_and_the_first_holder_cannot_delete_it(database: Database) -> None:
    """A worker that died (or stalled) mid-job: its row comes back after the lease, counted."""
    QueueStore(database.sessions).append([("answer", "T1:U1", "{}")], T0)
    (stalled,) = QueueStore(database.sessions).lease(T0, LEASE, limit=1)
    assert QueueStore(database.sessions).lease(T0 + LEASE - timedelta(seconds=1), LEASE, limit=1) == []
    (retaken,) = QueueStore(database.sessions).lease(T0 + LEASE, LEASE, limit=1)
    assert retaken.id == stalled.id and retaken.attempts == 2
    assert QueueStore(database.sessions).finish(stalled) is False  # lost its lease: the row stays
    assert QueueStore(database.sessions).backlog() == (1, T0)
    assert QueueStore(database.sessions).finish(retaken) is True


def test_ids_are_not_reused_after_the_newest_row_is_deleted(database: Database) -> None:
    QueueStore(database.sessions).append([("answer", "T1:U1", "{}")], T0)
    (item,) = QueueStore(database.sessions).lease(T0, LEASE, limit=1)
    QueueStore(database.sessions).finish(item)
    QueueStore(database.sessions).append([("answer", "T1:U1", "{}")], T0)
    (newer,) = QueueStore(database.sessions).lease(T0, LEASE, limit=1)
    assert newer.id > item.id


def test_concurrent_workers_never_lease_the_same_item(database_url: str) -> None:
    """Four workers, each with its own connection pool, drain 200 items: every item exactly once."""
    setup = open_database(database_url, auto_migrate=True)
    QueueStore(setup.sessions).append([("answer", f"T1:U{i}", str(i)) for i in range(200)], T0)
    taken: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def drain(n: int) -> None:
        db = open_database(database_url, auto_migrate=False)
        try:
            barrier.wait(timeout=30)
            while batch := QueueStore(db.sessions).lease(T0, LEASE, limit=7):
                for item in batch:
                    taken[n].append(int(item.payload))
                    assert QueueStore(db.sessions).finish(item)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    every = sorted(i for part in taken for i in part)
    assert every == list(range(200))
    with setup.sessions() as session:
        assert session.scalars(select(PendingWork.id)).all() == []
    setup.dispose()


def test_one_owners_requests_are_leased_one_at_a_time_in_order(database: Database) -> None:
    rows = [("answer", "T1:UA", "a1"), ("answer", "T1:UB", "b1"), ("back", "T1:UA", "a2"), ("answer", "T1:UA", "a3")]
    QueueStore(database.sessions).append(rows, T0)
    first = QueueStore(database.sessions).lease(T0, LEASE, limit=10)
    assert [item.payload for item in first] == ["a1", "b1"]  # a2 waits for a1, whoever leases
    assert QueueStore(database.sessions).lease(T0, LEASE, limit=10) == []
    QueueStore(database.sessions).finish(first[0])
    assert [item.payload for item in QueueStore(database.sessions).lease(T0, LEASE, limit=10)] == ["a2"]


def test_an_owners_next_request_waits_while_the_first_is_leased_even_past_a_crash(database: Database) -> None:
    QueueStore(database.sessions).append([("answer", "T1:UA", "a1"), ("answer", "T1:UA", "a2")], T0)
    (held,) = QueueStore(database.sessions).lease(T0, LEASE, limit=10)
    assert QueueStore(database.sessions).lease(T0 + LEASE - timedelta(seconds=1), LEASE, limit=10) == []
    # The holder died: its row comes back first, still ahead of the owner's later request.
    (again,) = QueueStore(database.sessions).lease(T0 + LEASE, LEASE, limit=10)
    assert (again.id, again.payload) == (held.id, "a1")


def test_a_heartbeat_renews_the_leases_in_hand_and_says_the_worker_is_alive(database: Database) -> None:
    store = QueueStore(database.sessions)
    store.append([("answer", "T1:UA", "{}")], T0)
    (item,) = store.lease(T0, LEASE, limit=1)
    me = Beater(id="worker:h:1:ab", role="worker", host="h", pid=1, started_at=T0)
    assert store.beat(me, T0 + LEASE, [item], LEASE) == 1  # renewed to T0 + 2 leases
    assert store.lease(T0 + LEASE, LEASE, limit=1) == []
    (retaken,) = store.lease(T0 + LEASE * 2, LEASE, limit=1)
    assert store.beat(me, T0 + LEASE * 3, [item], LEASE) == 0  # no longer ours
    assert retaken.attempts == 2
    with database.sessions() as session:
        assert beats.live_count(session, "worker", since=T0 + LEASE * 3) == 1
        assert beats.live_count(session, "worker", since=T0 + LEASE * 4) == 0
        assert beats.last_beat(session, "worker") == T0 + LEASE * 3
    store.stop_beating(me)
    with database.sessions() as session:
        assert beats.last_beat(session, "worker") is None


def test_beats_of_long_gone_processes_are_forgotten(database: Database) -> None:
    store = QueueStore(database.sessions)
    gone = Beater(id="worker:h:1:aa", role="worker", host="h", pid=1, started_at=T0)
    alive = Beater(id="worker:h:2:bb", role="worker", host="h", pid=2, started_at=T0)
    store.beat(gone, T0, [], LEASE)
    store.beat(alive, T0 + timedelta(days=2), [], LEASE)
    assert store.forget_beats(T0 + timedelta(days=1)) == 1
    with database.sessions() as session:
        assert beats.live_count(session, "worker", since=T0) == 1
