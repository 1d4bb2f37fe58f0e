"""The scheduled run's digests with what the teams' sessions agreed and their open actions: one batch of
statements for the whole run however many digests are due, nothing read when none is, on SQLite and
PostgreSQL, through the fake of the scheduler's port."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from conftest import complete_assessment
from fakemessenger import TEAM, FakeMessenger
from sqlalchemy import event
from test_scheduled_run import LEAD, SETTINGS, TUESDAY

from bot.app.context import AppContext
from bot.app.digests import subscribe_digest
from bot.app.scheduled_run import run_due
from bot.app.types import Who
from bot.db import people, team_sessions
from bot.db.setup import Database
from bot.domain.digest import Digest
from bot.domain.questionnaire import Questionnaire
from bot.domain.team_session import Agreement, NewAction


@pytest.fixture
def ctx(database: Database, small_bank: Questionnaire) -> AppContext:
    return AppContext(database.sessions, small_bank)


def teams(ctx: AppContext, fake: FakeMessenger, count: int) -> list[str]:
    """``count`` channels of three people who answered level 2, each with a monthly digest due at
    TUESDAY and an ended session that agreed Data at level n % 4 + 1, with one open action."""
    channels = [f"C0T{n:03d}" for n in range(count)]
    ended = TUESDAY - timedelta(days=3)
    for n, channel in enumerate(channels):
        humans = [f"U{n:03d}{i}" for i in range(3)]
        fake.add_channel(channel, humans)
        subscribe_digest(ctx, Who(TEAM, LEAD), channel, "monthly", TUESDAY - timedelta(days=40))
        for user in humans:
            complete_assessment(ctx, Who(TEAM, user), [2] * len(ctx.bank.questions), TUESDAY - timedelta(days=10))
        with ctx.sessions.begin() as session:
            ws_id = people.workspace_id(session, TEAM, ended)
            row = team_sessions.create(
                session,
                ws_id,
                channel,
                facilitator=LEAD,
                dimension_id="data",
                question_ids=["data.versioning", "data.validation"],
                members=3,
                now=ended,
            )
            assert row is not None
            level = n % 4 + 1
            for question in ("data.versioning", "data.validation"):
                team_sessions.save_outcome(session, row, Agreement(question, level, False), votes=3, now=ended)
            action = NewAction(f"Step {n}", humans[0], date(2026, 11, 30))
            team_sessions.add_action(session, row, action, question_id=None, created_by=LEAD, now=ended)
            team_sessions.end(row, "finished", ended)
    return channels


def statements_about_sessions(database: Database, ctx: AppContext, fake: FakeMessenger, when: Any) -> list[str]:
    found: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "session_outcomes" in statement or "session_actions" in statement:
            found.append(statement)

    engine = database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        run_due(ctx, fake, SETTINGS, when)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return found


@pytest.mark.parametrize("count", [2, 6])
def test_a_runs_digests_read_every_channels_sessions_at_once(database: Database, ctx: AppContext, count: int) -> None:
    fake = FakeMessenger()
    channels = teams(ctx, fake, count)
    found = statements_about_sessions(database, ctx, fake, TUESDAY)
    # Two for all the digests, however many went out; each trend chart reads its own channel's sessions
    # beside its own past digests (after the digests are out, as its figures are read).
    charts = [s for s in found if "ended_at >=" in s]
    assert (len(found) - len(charts), len(charts)) == (2, count)
    for n, channel in enumerate(channels):
        (sent,) = fake.messages("digest", channel)
        digest = sent.message
        assert isinstance(digest, Digest)
        [agreed] = digest.agreed
        assert (agreed.dimension_id, agreed.level, agreed.on) == ("data", n % 4 + 1, date(2026, 11, 28))
        [action] = digest.actions
        assert (action.text, action.overdue) == (f"Step {n}", True)
    assert sorted(c.thread.channel for c in fake.charts) == channels
    assert all(
        [(s.on, s.scores) for s in c.sessions]
        == [(date(2026, 11, 28), (("data", float(channels.index(c.thread.channel) % 4 + 1)),))]
        for c in fake.charts
    )
    # The next tick has no digest due: it reads nothing of the sessions.
    assert statements_about_sessions(database, ctx, fake, TUESDAY + timedelta(minutes=15)) == []
