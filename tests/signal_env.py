"""`compass serve --http` with sources made by the real `compass signals add`, for the signal tests:
each test module opens one per backend (``serving``) and posts its senders' deliveries to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner
from conftest import NO_POSTGRES, POSTGRES_URL, SMALL_BANK, create_postgres_database, drop_postgres_database
from fakeslack import FakeSlack
from harness import AppProcess, Reply, request
from signal_payloads import printed_secret
from sqlalchemy import func, select

from bot.cli.main import main
from bot.db.models import SignalDelivery, SignalEventRow
from bot.db.setup import Database, open_database

CHANNEL = "C0MLPLATFORM"


class Made(NamedTuple):
    """A source as `compass signals add` printed it (a tuple: ``source, path, secret = env.add(...)``)."""

    id: str
    path: str
    secret: str


@dataclass
class Env:
    url: str
    app: AppProcess
    db: Database
    channel: str = CHANNEL  # where `add` puts a source unless told otherwise

    def cli(self, *args: str) -> str:
        result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": self.url}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def add(self, kind: str, *extra: str, channel: str | None = None) -> Made:
        out = self.cli("signals", "add", kind, "--channel", channel or self.channel, *extra)
        source = re.search(r"^source (\w+) ", out, re.M)
        path = re.search(r"^webhook path: (\S+)", out, re.M)
        # the secret or token, where the set-up guide pastes it (bot/domain/signal_setup.py)
        secret = extra[extra.index("--secret") + 1] if "--secret" in extra else printed_secret(out)
        assert source and path and secret, out
        return Made(source.group(1), path.group(1), secret)

    def post(self, path: str, body: str | bytes, headers: dict[str, str]) -> Reply:
        data = body if isinstance(body, str) else body.decode("latin-1")
        return request("POST", self.app.url + path, data, headers)

    def counts(self, source_id: str) -> tuple[int, int]:
        with self.db.sessions() as s:
            deliveries = s.scalar(select(func.count(SignalDelivery.id)).where(SignalDelivery.source_id == source_id))
            events = s.scalar(select(func.count(SignalEventRow.id)).where(SignalEventRow.source_id == source_id))
        return int(deliveries or 0), int(events or 0)

    def events(self, source_id: str) -> list[SignalEventRow]:
        with self.db.sessions() as s:
            stmt = select(SignalEventRow).where(SignalEventRow.source_id == source_id).order_by(SignalEventRow.id)
            return list(s.scalars(stmt))


@contextmanager
def serving(backend: str, folder: Path, channel: str = CHANNEL) -> Iterator[Env]:
    """``compass serve --http`` on a database of its own of ``backend`` (sqlite: in ``folder``)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'compass.db'}"
    else:
        # A database of its own: other tests on this worker truncate the shared one between tests.
        if not POSTGRES_URL:
            pytest.skip(NO_POSTGRES)
        url = create_postgres_database(migrated=True)
    try:
        with FakeSlack() as fake, AppProcess(fake.api_url, url, SMALL_BANK) as app:
            db = open_database(url, auto_migrate=False)
            yield Env(url, app, db, channel)
            db.dispose()
    finally:
        if backend == "postgresql":
            drop_postgres_database(url)
