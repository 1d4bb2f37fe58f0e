"""Open the database the settings name; the embedded SQLite file is created and migrated on first use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bot.db import migrate
from bot.db.session import SessionFactory, make_engine, make_session_factory, normalize_url


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: SessionFactory

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, auto_migrate: bool | None = None) -> Database:
    """Connect; by default SQLite databases are upgraded to the newest schema here.

    PostgreSQL is migrated explicitly (``compass db upgrade``, the release phase), so
    several web processes never race to migrate the same database.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if auto_migrate if auto_migrate is not None else is_sqlite:
        migrate.upgrade(engine)
    return Database(engine, make_session_factory(engine))
