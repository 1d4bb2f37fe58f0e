"""`compass serve --http` against the fake Slack, one per test module and backend, for the Slack
end-to-end tests (a module's ``env`` fixture yields from ``served``). At the end it checks that no
message the module's tests made was refused by the fake's Block Kit checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SMALL_BANK
from fakeslack import FakeSlack
from harness import AppProcess, Slack

from bot.db.setup import Database, open_database


@dataclass
class Served:
    fake: FakeSlack
    app: AppProcess
    slack: Slack  # signed requests to the app, as Slack sends them
    db: Database
    url: str

    def restart(self) -> None:
        self.app.stop()
        self.app.start()


@contextmanager
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    extra_env: dict[str, str] | None = None,
    bank: Path = SMALL_BANK,
) -> Iterator[Served]:
    """The app on ``request.param``'s backend: a new SQLite file, or the shared PostgreSQL test database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('served') / 'compass.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    with FakeSlack() as fake, AppProcess(fake.api_url, url, bank, extra_env) as app:
        db = open_database(url, auto_migrate=False)
        try:
            yield Served(fake, app, Slack(app.url, fake.response_url()), db, url)
        finally:
            db.dispose()
        assert fake.block_errors == [], fake.block_errors  # every message the module's tests made was valid
