"""Shared fixtures: question banks, and databases on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.app.assessment import record_answer, restart_assessment
from bot.app.context import AppContext
from bot.app.types import Click, Who
from bot.db import digests, migrate, people
from bot.db.base import Base
from bot.db.session import make_engine, normalize_url
from bot.db.setup import Database, open_database
from bot.domain.questionnaire import Questionnaire, load_questionnaire

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
SMALL_BANK = DATA / "questions_small.json"
SHIPPED_BANK = ROOT / "questions.json"
POSTGRES_URL = os.environ.get("COMPASS_TEST_POSTGRES_URL")
NO_POSTGRES = "COMPASS_TEST_POSTGRES_URL is not set; PostgreSQL tests need a server (CI sets it)"

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def complete_assessment(ctx: AppContext, who: Who, levels: list[int | None], when: datetime) -> int:
    """Take and finish an assessment through the use cases, a minute per answer; returns its id."""
    progress = restart_assessment(ctx, who, when)
    for i, (question, level) in enumerate(zip(ctx.bank.questions, levels, strict=True)):
        click = Click(progress.assessment_id, question.id, level)
        progress = record_answer(ctx, who, click, when + i * timedelta(minutes=1)).progress
    assert progress.report is not None
    return progress.assessment_id


def store_team(ctx: AppContext, team: str, channel: str, members: Mapping[str, str | None], now: datetime) -> None:
    """The channel's digest (set up already) has these people (user id -> time zone) as its team, as a
    scheduled run stores them from Slack's member list."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, team, now)
        sub = digests.subscription(session, ws_id, channel)
        assert sub is not None, f"no digest is set up for {channel}"
        people.ensure_respondents(session, ws_id, members, now)
        digests.replace_members(session, sub.id, list(members))


@pytest.fixture(scope="session")
def small_bank() -> Questionnaire:
    """Five questions in two dimensions; one allows N/A."""
    return load_questionnaire(SMALL_BANK)


@pytest.fixture(scope="session")
def shipped_bank() -> Questionnaire:
    return load_questionnaire(SHIPPED_BANK)


def create_postgres_database(migrated: bool = False) -> str:
    """A fresh database on the test server, empty or (``migrated``) at the newest schema; returns its URL."""
    assert POSTGRES_URL
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"compass_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(normalize_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    if migrated:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
    return url


def drop_postgres_database(url: str) -> None:
    assert POSTGRES_URL
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database per test process; tests truncate it."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    url = create_postgres_database(migrated=True)
    yield url
    drop_postgres_database(url)


@pytest.fixture
def own_postgres() -> Iterator[str]:
    """A brand-new, never-migrated PostgreSQL database for one test, which it may use as it likes."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def truncate_all(database: Database) -> None:
    """Empty every table (the app's and the installation store's), ids starting again at 1."""
    from bot.run.installations import store_metadata

    stored = [*Base.metadata.sorted_tables, *store_metadata().sorted_tables]
    tables = ", ".join(f'"{t.name}"' for t in stored)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL on each supported backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'compass.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    database = open_database(url, auto_migrate=False)
    truncate_all(database)
    database.dispose()
    yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """An open, migrated, empty database on each backend."""
    db = open_database(database_url, auto_migrate=True)
    yield db
    db.dispose()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1; every Block Kit payload it was sent must have been valid."""
    with FakeSlack() as slack:
        yield slack
        assert slack.block_errors == []
