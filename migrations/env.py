"""Alembic environment: the URL comes from the caller (``compass db upgrade``) or DATABASE_URL."""

from __future__ import annotations

from alembic import context

import bot.db.models  # noqa: F401  (registers the tables on Base.metadata)
from bot.db.base import Base
from bot.db.session import make_engine
from bot.run.installations import store_metadata

config = context.config
# The app's tables and those of slack_sdk's installation and OAuth state stores (revision 0013).
target_metadata = [Base.metadata, store_metadata()]


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.config import database_url_from_env

    return database_url_from_env()


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
