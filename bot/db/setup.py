"""Open the database the settings name, or say in one line why it cannot be used.

The embedded SQLite file is created and migrated on first use. PostgreSQL is migrated
explicitly (``compass db upgrade``, the release phase), so several web processes never
race to migrate the same database; here it is only checked to be at this release's schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.util.exc import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from bot.db import migrate
from bot.db.availability import one_line
from bot.db.session import SessionFactory, make_engine, make_session_factory, normalize_url
from bot.startup import StartupProblem

SUPPORTED = ("sqlite", "postgresql")
URL_EXAMPLES = "sqlite:///path/to/compass.db or postgresql://user:password@host:5432/dbname"


class DatabaseProblem(StartupProblem):
    """The database cannot be used as configured: unknown URL, unreachable, or the wrong schema."""


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: SessionFactory

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, auto_migrate: bool | None = None, check_schema: bool = True) -> Database:
    """Connect; by default SQLite databases are upgraded to the newest schema here.

    ``check_schema``: refuse a database whose schema is not this release's (``compass db
    upgrade`` itself opens it without the check). Raises DatabaseProblem.
    """
    database = connect(url)
    engine = database.engine
    try:
        reach(engine)
        if auto_migrate if auto_migrate is not None else engine.url.get_backend_name() == "sqlite":
            upgrade(engine)
        elif check_schema:
            require_current_schema(engine)
    except DatabaseProblem:
        engine.dispose()
        raise
    return database


def connect(url: str) -> Database:
    """The engine and sessions for ``url``, without touching the database yet (``compass status``
    reports an unreachable one rather than stopping at it)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseProblem(
            f"DATABASE_URL: unknown database scheme {parsed.get_backend_name()!r}; use {URL_EXAMPLES}"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = make_engine(url)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseProblem(
            f"DATABASE_URL: no driver for {parsed.drivername!r} ({one_line(exc)}); use {URL_EXAMPLES}"
        ) from None
    return Database(engine, make_session_factory(engine))


def parse_url(url: str) -> URL:
    try:
        return make_url(normalize_url(url))
    except ArgumentError:
        raise DatabaseProblem(f"DATABASE_URL: {url!r} is not a database URL; use {URL_EXAMPLES}") from None


def describe(engine: Engine) -> str:
    """The database as an operator would name it, without the password."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database}"
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def reach(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        url = engine.url
        sqlite = url.get_backend_name() == "sqlite"
        where = f"the SQLite file {url.database}" if sqlite else f"{url.host}:{url.port or 5432}"
        raise DatabaseProblem(f"cannot reach the database at {where}: {one_line(exc)}") from None


def upgrade(engine: Engine) -> migrate.Upgrade:
    """Migrate to this release's schema, refusing a database a newer release migrated."""
    _refuse_newer(engine, schema_revision(engine))
    try:
        return migrate.upgrade(engine)
    except CommandError as exc:
        raise DatabaseProblem(f"database {describe(engine)} could not be migrated: {exc}") from None


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return migrate.current_revision(conn)


def require_current_schema(engine: Engine) -> None:
    current, needed = schema_revision(engine), migrate.head_revision()
    _refuse_newer(engine, current)
    if current != needed:
        raise DatabaseProblem(
            f"database {describe(engine)} is at revision {current or 'none'}; this release needs {needed}: "
            "run `compass db upgrade`"
        )


def _refuse_newer(engine: Engine, current: str | None) -> None:
    if current is not None and not migrate.knows(current):
        raise DatabaseProblem(
            f"database {describe(engine)} is at revision {current}, newer than this release "
            f"(which knows up to {migrate.head_revision()}): upgrade MLOps Compass, or point DATABASE_URL elsewhere"
        )
