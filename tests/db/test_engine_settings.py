"""What every connection Compass opens is set up with: PostgreSQL's settings, SQLite's write turns."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from bot.db import session as session_module
from bot.db.session import WriteTurn, make_engine
from bot.db.setup import open_database


def test_postgresql_connections_never_jit_compile(postgres_url: str) -> None:
    # A channel's metrics at 1M events took ~1 s with JIT (compiling statements whose estimated cost
    # is high but which run in milliseconds) and ~180 ms without (docs/benchmarks.md, issue 19).
    database = open_database(postgres_url, auto_migrate=False)
    try:
        with database.sessions() as session:
            assert session.execute(text("SHOW jit")).scalar_one() == "off"
    finally:
        database.dispose()


# -- SQLite: one process's threads take turns at the one writer -----------------------------------


def _sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    return engine


def _turn_is_free(tmp_path: Path) -> bool:
    turn = WriteTurn.of(str(tmp_path / "turns.db"))
    if turn.take():
        turn.give()
        return True
    return False


def test_the_write_turn_is_given_back_by_commit_rollback_a_failed_statement_and_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "WRITE_WAIT_SECONDS", 0.2)  # a turn never given back fails fast
    engine = _sqlite_engine(tmp_path)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET n = n + 1")
        assert _turn_is_free(tmp_path)
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET n = n + 1")
            raise RuntimeError("the use case failed")
        assert _turn_is_free(tmp_path)
        with pytest.raises(OperationalError), engine.begin() as conn:
            conn.exec_driver_sql("UPDATE no_such_table SET n = 1")
        assert _turn_is_free(tmp_path)
        conn = engine.connect()
        conn.begin()
        conn.exec_driver_sql("UPDATE counter SET n = n + 1")
        conn.invalidate()  # the connection is closed in the middle of its transaction
        assert _turn_is_free(tmp_path)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 1
    finally:
        engine.dispose()


def test_a_second_thread_starts_its_transaction_when_the_first_commits(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait(5)
        with engine.begin() as conn:
            order.append("second began")
            conn.exec_driver_sql("UPDATE counter SET n = n * 10")

    try:
        other = threading.Thread(target=second)
        other.start()
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET n = n + 1")
            inside.set()
            other.join(0.3)  # it cannot begin while this transaction holds the turn
            order.append("first committing")
        other.join(10)
        assert order == ["first committing", "second began"]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 10  # (0 + 1) * 10
    finally:
        engine.dispose()


def test_many_threads_writing_at_once_lose_nothing_and_keep_their_connections(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi, _record: opened.append(dbapi))
    threads, each = 12, 40

    def writer() -> None:
        for _ in range(each):
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE counter SET n = n + 1")

    try:
        running = [threading.Thread(target=writer) for _ in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join(60)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == threads * each
        # The pool keeps one connection per thread rather than opening one for most transactions.
        assert len(opened) <= threads
    finally:
        engine.dispose()
