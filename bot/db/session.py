"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]


def normalize_url(url: str) -> str:
    """Accept Heroku-style ``postgres://`` URLs and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# Connections kept open per process. SQLAlchemy's default keeps 5 and opens and closes the rest for
# each transaction; a worker runs 8 jobs at once beside its lease and heartbeat threads, so it opened a
# connection (and ran its PRAGMAs, or a PostgreSQL backend's start-up) for about every second click.
POOL_SIZE = 16
POOL_OVERFLOW = 48  # up to 64 at once: a worker with --threads 64 never waits for a connection
WRITE_WAIT_SECONDS = 30  # how long a transaction waits for SQLite's one writer before "database is locked"


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(normalize_url(url))
    sqlite = parsed.get_backend_name() == "sqlite"
    in_memory = sqlite and (parsed.database or "") in ("", ":memory:")
    if not in_memory and "poolclass" not in kwargs:  # an in-memory database has a pool of its own kind
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    if sqlite:
        connect_args = {"timeout": WRITE_WAIT_SECONDS, "check_same_thread": False, "factory": _TurnTakingConnection}
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, in_memory)
        return engine
    # JIT off: PostgreSQL compiles any statement whose estimated cost passes jit_above_cost, and the
    # metric statements' correlated subplans are estimated far above it while running in ~10-20 ms;
    # compiling one took ~700 ms of a channel's metrics at 1M events (docs/benchmarks.md, issue 19).
    # Compass runs short OLTP statements only: nothing here gains from JIT.
    return create_engine(parsed, pool_pre_ping=True, connect_args={"options": "-c jit=off"}, **kwargs)


class WriteTurn:
    """One writer at a time among one process's threads, for one SQLite file.

    SQLite has one writer per database; a thread that finds the write lock taken waits in SQLite's
    busy handler, which sleeps in growing steps (up to 100 ms) and does not wake when the lock is
    freed. With a worker's eight threads all wanting the lock, most of the time went to those sleeps
    while the lock stood free: at 100 people answering, 3.5 of the worker's threads were asleep in
    ``BEGIN IMMEDIATE`` on average (docs/benchmarks.md, issue 17). Taking turns on a lock of our own
    first wakes the next thread as soon as the last one commits; SQLite's busy handler is left for the
    other processes (the web process's writes). Python's sqlite3 cannot install its own busy handler,
    hence this lock.
    """

    _by_file: dict[str, WriteTurn] = {}
    _made = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @classmethod
    def of(cls, database: str) -> WriteTurn:
        key = os.path.realpath(database)
        with cls._made:
            return cls._by_file.setdefault(key, cls())

    def take(self) -> bool:
        # Bounded like SQLite's own wait: a thread that already holds the turn on another connection
        # (never done on purpose) gets the "database is locked" it would have got without this lock.
        return self._lock.acquire(timeout=WRITE_WAIT_SECONDS)

    def give(self) -> None:
        self._lock.release()


class _TurnTakingConnection(sqlite3.Connection):
    """A sqlite3 connection that gives its process's write turn back when its transaction ends.

    SQLAlchemy has no event after a commit or rollback has reached the database (its events come
    before), so the turn is given back here, in the DB-API connection's own methods.
    """

    turn: WriteTurn | None = None
    holds_turn = False

    def take_turn(self) -> None:
        if self.turn is not None and not self.holds_turn:
            self.holds_turn = self.turn.take()

    def give_turn_back(self) -> None:
        """Give the turn back unless a transaction is still open (a COMMIT that failed)."""
        if not self.in_transaction:
            self._release_turn()

    def _release_turn(self) -> None:
        if self.holds_turn:
            self.holds_turn = False
            assert self.turn is not None
            self.turn.give()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_turn_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_turn_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_turn()  # whatever became of the transaction: a closed connection has none


def _configure_sqlite(engine: Engine, in_memory: bool) -> None:
    # pysqlite's own transaction handling starts transactions lazily and lets two
    # writers both read before one fails with "database is locked". Taking the
    # write lock at BEGIN (IMMEDIATE) serialises writers instead, and WAL lets
    # readers in other processes carry on meanwhile.
    database = engine.url.database or ""
    # A "file:" URI may name a shared in-memory database, which has no file to key a turn by.
    turn = None if in_memory or database.startswith("file:") else WriteTurn.of(database)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: _TurnTakingConnection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.turn = turn
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        raw: _TurnTakingConnection = conn.connection.dbapi_connection  # make_engine's factory made it
        raw.take_turn()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            raw.give_turn_back()
            raise


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)
