"""Team sessions idle for 72 hours end by themselves: the scheduler's job through the fake messenger and,
end to end, `compass jobs run-due` against the fake Slack; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from conftest import SMALL_BANK, T0
from fakemessenger import TEAM, FakeMessenger
from fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack
from slack_sdk import WebClient
from sqlalchemy import select

from bot.app import team_sessions
from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.app.scheduled_run import end_idle_sessions
from bot.app.types import Who
from bot.cli.main import main
from bot.db.models import TeamSession
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.domain.targets import DimensionChoice
from bot.domain.team_session import IDLE_LIMIT, StartSession

LEAD = "U0LEAD"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def ctx(database: Database, small_bank: Questionnaire) -> AppContext:
    return AppContext(database.sessions, small_bank)


def open_session(ctx: AppContext, channel: str, at: datetime, *, team: str = TEAM, ts: str | None = None) -> int:
    """A session over ops in ``channel`` whose first question was agreed (level 3) and whose second is
    live as the message ``ts`` (default: one made up for the channel)."""
    lead, settings = Who(team, LEAD), OutreachSettings(min_respondents=3)
    opened = team_sessions.start(ctx, lead, channel, StartSession(DimensionChoice("ops", "Ops")), at, members=3)
    assert isinstance(opened, team_sessions.Opened)
    where = (opened.first.session_id, opened.first.question.id)
    for user in ("U0A", "U0B", "U0C"):
        team_sessions.vote(ctx, Who(team, user), where, 3, at, response_url=None)
    team_sessions.reveal_votes(ctx, lead, where, at, settings=settings, members=None)
    team_sessions.agree(ctx, lead, where, 3, at, settings=settings, members=None)
    moved = team_sessions.next_question(ctx, lead, where, at)
    assert isinstance(moved, team_sessions.NextQuestion)
    team_sessions.posted(ctx, where[0], opening_ts=None, question_ts=ts or f"{channel}.live")
    return where[0]


def stored(database: Database, session_id: int) -> TeamSession:
    with database.sessions() as session:
        found = session.get(TeamSession, session_id)
        assert found is not None
        return found


def test_a_session_idle_for_72_hours_ends_its_live_message_closed_and_its_summary_posted_once(database, ctx):
    fake = FakeMessenger()
    quiet = open_session(ctx, "C0QUIET", T0)
    busy = open_session(ctx, "C0BUSY", T0)
    late_vote = (busy, "ops.abtest")
    team_sessions.vote(ctx, Who(TEAM, "U0A"), late_vote, 2, T0 + timedelta(hours=10), response_url=None)

    assert end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT - MINUTE).idle_sessions_ended == 0
    assert fake.sent == [] and fake.closed == []

    report = end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT + MINUTE)
    assert report.idle_sessions_ended == 1 and report.failures == 0
    assert fake.closed == [("C0QUIET", "C0QUIET.live")]
    (summary,) = fake.messages("summary")
    assert summary.target == "C0QUIET"
    assert isinstance(summary.message, team_sessions.Ended)
    assert (summary.message.reason, summary.message.team) == ("idle", TEAM)
    assert [(q.question_id, q.level) for q in summary.message.summary.questions] == [("ops.rollback", 3)]
    row = stored(database, quiet)
    assert (row.live_channel, row.end_reason, row.summary_ts) == (None, "idle", summary.ts)
    assert stored(database, busy).live_channel == "C0BUSY"  # a vote 10 hours in kept it going

    # Nothing twice; the session takes no more votes; the busy one ends 72 hours after its last vote.
    assert end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT + 2 * MINUTE).idle_sessions_ended == 0
    assert len(fake.messages("summary")) == 1
    refused = team_sessions.vote(ctx, Who(TEAM, "U0B"), (quiet, "ops.abtest"), 2, T0 + IDLE_LIMIT, response_url=None)
    assert isinstance(refused, team_sessions.VoteRefused)
    later = T0 + timedelta(hours=10) + IDLE_LIMIT + MINUTE
    assert end_idle_sessions(ctx, lambda team: fake, later).idle_sessions_ended == 1
    assert [s.target for s in fake.messages("summary")] == ["C0QUIET", "C0BUSY"]


def test_two_schedulers_at_once_end_and_announce_each_idle_session_once(database, ctx):
    fake = FakeMessenger()
    channels = [f"C0RACE{i}" for i in range(6)]
    for channel in channels:
        open_session(ctx, channel, T0)
    start = threading.Barrier(2)
    reports = []

    def scheduler() -> None:
        start.wait()
        reports.append(end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT + MINUTE))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(r.idle_sessions_ended for r in reports) == len(channels)
    assert sorted(s.target for s in fake.messages("summary")) == channels
    assert sorted(channel for channel, _ in fake.closed) == channels
    with database.sessions() as session:
        rows = session.scalars(select(TeamSession)).all()
        assert all(r.end_reason == "idle" and r.summary_ts for r in rows)


def test_a_channel_that_is_gone_or_a_workspace_without_a_token_still_ends_its_session(database, ctx):
    fake = FakeMessenger()
    gone = open_session(ctx, "C0GONE", T0)
    elsewhere = open_session(ctx, "C0ELSEWHERE", T0, team="T0UNINSTALLED")
    fake.refuse_channel("C0GONE", "channel_not_found")

    report = end_idle_sessions(ctx, lambda team: fake if team == TEAM else None, T0 + IDLE_LIMIT + MINUTE)

    assert (report.idle_sessions_ended, report.failures) == (2, 1)
    assert fake.sent == []
    for session_id in (gone, elsewhere):
        row = stored(database, session_id)
        assert (row.live_channel, row.end_reason, row.summary_ts) == (None, "idle", None)
    assert end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT + 2 * MINUTE).idle_sessions_ended == 0


def test_a_summary_refused_for_now_or_lost_with_its_scheduler_is_posted_by_a_later_tick_once(database, ctx):
    fake = FakeMessenger()
    limited = open_session(ctx, "C0LIMITED", T0)
    fake.rate_limited = 1
    first = end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT + MINUTE)
    assert (first.idle_sessions_ended, first.failures, fake.sent) == (1, 1, [])

    # A scheduler that died between ending a session and posting its summary.
    lost = open_session(ctx, "C0LOST", T0 + timedelta(hours=1))
    (ended,) = team_sessions.end_idle(ctx, T0 + IDLE_LIMIT + timedelta(hours=1, minutes=1), IDLE_LIMIT)
    assert ended.session_id == lost

    later = end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT + timedelta(hours=2))
    assert (later.idle_sessions_ended, later.failures) == (0, 0)
    assert sorted(s.target for s in fake.messages("summary")) == ["C0LIMITED", "C0LOST"]
    assert sorted(fake.closed) == [
        ("C0LIMITED", "C0LIMITED.live"),
        ("C0LIMITED", "C0LIMITED.live"),
        ("C0LOST", "C0LOST.live"),
    ]  # fmt: skip  (closing twice changes nothing)
    for session_id in (limited, lost):
        assert stored(database, session_id).summary_ts is not None
    end_idle_sessions(ctx, lambda team: fake, T0 + IDLE_LIMIT + timedelta(hours=3))
    assert len(fake.messages("summary")) == 2


def test_jobs_run_due_ends_an_idle_session_in_slack(database_url, database, ctx, fake: FakeSlack):
    fake.add_channel("C0TEAM", ["U0A", "U0B", "U0C", "U0BOT"])
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    live = str(client.chat_postMessage(channel="C0TEAM", text="the live question")["ts"])
    session_id = open_session(ctx, "C0TEAM", T0, team=TEAM_ID, ts=live)
    env = {
        "DATABASE_URL": database_url,
        "COMPASS_QUESTIONS": str(SMALL_BANK),
        "SLACK_API_URL": fake.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
    }
    at = (T0 + IDLE_LIMIT + MINUTE).isoformat()

    ran = CliRunner().invoke(main, ["jobs", "run-due", "--at", at], env=env, catch_exceptions=False)

    assert ran.exit_code == 0, ran.output
    assert "idle sessions ended: 1" in ran.output
    closed, summary = fake.channel_messages("C0TEAM")
    assert closed.ts == live and closed.updates == 1 and "takes no more votes" in str(closed.blocks)
    assert "Team session summary" in summary.text
    assert stored(database, session_id).summary_ts == summary.ts
    again = CliRunner().invoke(main, ["jobs", "run-due", "--at", at], env=env, catch_exceptions=False)
    assert "idle sessions ended: 0" in again.output and len(fake.channel_messages("C0TEAM")) == 2
