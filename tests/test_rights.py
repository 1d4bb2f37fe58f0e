"""A person's own export, forgetting them, and retention, through the use cases on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from conftest import T0, complete_assessment
from sqlalchemy import event, func, insert, select

from bot.app import team_sessions
from bot.app.assessment import record_answer, restart_assessment
from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.app.rights import export_person, forget_person, forget_workspace_people, purge_expired
from bot.app.types import Click, Who
from bot.db import people
from bot.db.models import (
    Answer,
    Assessment,
    ChannelMember,
    DigestSubscription,
    DimensionScore,
    PendingWork,
    Respondent,
    Send,
    SessionAction,
    SessionOutcome,
    SessionVote,
    TeamSession,
)
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.domain.rights import Deleted, Retention, deleted_summary, export_summary, personal_json
from bot.domain.targets import DimensionChoice
from bot.domain.team_session import NewAction, StartSession

ANA = Who("T0001", "U0ANA")
BEN = Who("T0001", "U0BEN")
ANA_ELSEWHERE = Who("T0002", "U0ANA")
MINUTE = timedelta(minutes=1)


@pytest.fixture
def ctx(database: Database, small_bank: Questionnaire) -> AppContext:
    return AppContext(database.sessions, small_bank)


def _team(database: Database, workspace: str, channel: str, members: list[str]) -> int:
    with database.sessions.begin() as session:
        ws_id = people.workspace_id(session, workspace, T0)
        sub = DigestSubscription(
            workspace_id=ws_id, channel_id=channel, cadence="monthly", created_by=members[0], created_at=T0
        )
        session.add(sub)
        session.flush()
        session.execute(insert(ChannelMember), [{"subscription_id": sub.id, "user_id": m} for m in members])
        rows = [
            {"kind": "digest", "workspace_id": ws_id, "target": channel, "period": "2026-11", "status": "sent"},
            *(
                {"kind": "prompt", "workspace_id": ws_id, "target": m, "period": "2026-11-02", "status": "sent"}
                for m in members
            ),
        ]
        session.execute(insert(Send), [{**r, "claimed_at": T0, "sent_at": T0, "attempts": 1} for r in rows])
        for m in members:
            session.add(PendingWork(kind="home", owner=f"{workspace}:{m}", payload="{}", queued_at=T0, attempts=0))
        return ws_id


def _count(database: Database, model: Any, *where: Any) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_the_export_holds_the_persons_answers_with_the_questions_and_nothing_of_anyone_else(database, ctx):
    complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
    complete_assessment(ctx, ANA, [2, 2, 2, 2, 2], T0 + timedelta(days=1))
    complete_assessment(ctx, BEN, [4, 4, 4, 4, 4], T0)
    complete_assessment(ctx, ANA_ELSEWHERE, [3, 3, 3, 3, 3], T0)
    restart_assessment(ctx, ANA, T0 + timedelta(days=2))
    _team(database, "T0001", "C0TEAM", ["U0ANA", "U0BEN"])

    found = export_person(ctx, ANA)
    document = personal_json(found, T0 + timedelta(days=3))
    assert document["user_id"] == "U0ANA" and document["workspace"] == "T0001"
    assert [a["status"] for a in document["assessments"]] == ["complete", "complete", "asking"]
    first = document["assessments"][0]
    assert [x["level"] for x in first["answers"]] == [1, 2, 3, None, 4]
    assert first["answers"][0]["question_text"] == ctx.bank.questions[0].text
    assert first["report"] is not None and first["dimensions"]
    assert document["digest_channels"] == ["C0TEAM"]
    assert [s["kind"] for s in document["scheduled_messages"]] == ["prompt"]
    assert export_summary(found) == (
        "3 assessments, 10 answers, 2 reports, 1 scheduled message, 1 digest channel, 0 session votes"
    )
    # Nothing of Ben's or of the other workspace's Ana.
    levels = [x["level"] for a in document["assessments"] for x in a["answers"]]
    assert 4 not in levels[5:] and 3 not in levels[5:]
    assert export_person(ctx, Who("T0001", "U0NOBODY")).known_since is None


def test_the_export_reads_in_a_constant_number_of_statements(database, ctx):
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
    statements.clear()
    export_person(ctx, ANA)
    few = len(statements)
    for day in range(1, 5):
        complete_assessment(ctx, ANA, [2, 2, 2, 2, 2], T0 + timedelta(days=day))
    statements.clear()
    assert len(export_person(ctx, ANA).assessments) == 5
    assert len(statements) == few <= 9  # seven reads, and the transaction's own


def test_forgetting_deletes_everything_about_the_person_once_and_nothing_of_anyone_else(database, ctx):
    complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
    complete_assessment(ctx, ANA, [2, 2, 2, 2, 2], T0 + timedelta(days=1))
    unfinished = restart_assessment(ctx, ANA, T0 + timedelta(days=2))
    first = Click(unfinished.assessment_id, ctx.bank.questions[0].id, 3)
    record_answer(ctx, ANA, first, T0 + timedelta(days=2, minutes=1))
    complete_assessment(ctx, BEN, [4, 4, 4, 4, 4], T0)
    complete_assessment(ctx, ANA_ELSEWHERE, [3, 3, 3, 3, 3], T0)
    _team(database, "T0001", "C0TEAM", ["U0ANA", "U0BEN"])
    _team(database, "T0002", "C0TEAM", ["U0ANA"])
    ben_before = personal_json(export_person(ctx, BEN), T0)

    deleted = forget_person(ctx.sessions, ANA, T0 + timedelta(days=3))
    assert deleted == Deleted(
        people=1, assessments=3, reports=2, answers=11, dimension_scores=2 * len(ctx.bank.dimensions),
        channel_memberships=1, sends=1, queued_requests=1,
    )  # fmt: skip
    assert "3 assessments (2 reports), 11 answers" in deleted_summary(deleted)
    assert export_person(ctx, ANA).known_since is None
    assert _count(database, Respondent, Respondent.user_id == "U0ANA") == 1  # the other workspace's Ana
    assert personal_json(export_person(ctx, BEN), T0) == ben_before
    assert export_person(ctx, ANA_ELSEWHERE).digest_channels == ("C0TEAM",)
    assert _count(database, Send, Send.kind == "digest") == 2  # digests already posted stay
    # Again: nothing more.
    assert forget_person(ctx.sessions, ANA, T0 + timedelta(days=3)).nothing
    assert deleted_summary(Deleted()) == "nothing"


def _team_session(ctx: AppContext) -> int:
    """A session in C0TEAM facilitated by Ana over ops: Ana and Ben vote on rollback (agreed 3, an action
    owned by Ana), then Ana votes "not applicable" on A/B tests."""
    settings = OutreachSettings()
    opened = team_sessions.start(ctx, ANA, "C0TEAM", StartSession(DimensionChoice("ops", "Ops")), T0, members=2)
    assert isinstance(opened, team_sessions.Opened)
    where = (opened.first.session_id, opened.first.question.id)
    assert where[1] == "ops.rollback"
    team_sessions.vote(ctx, ANA, where, 3, T0 + MINUTE, response_url=None)
    team_sessions.vote(ctx, BEN, where, 2, T0 + 2 * MINUTE, response_url=None)
    team_sessions.reveal_votes(ctx, ANA, where, T0 + 3 * MINUTE, settings=settings, members=None)
    team_sessions.agree(ctx, ANA, where, 3, T0 + 4 * MINUTE, settings=settings, members=None)
    action = NewAction("Test the rollback", "U0ANA", date(2027, 1, 15))
    team_sessions.add_action(ctx, BEN, where, action, T0, source=None, settings=settings, members=None)
    moved = team_sessions.next_question(ctx, ANA, where, T0 + 5 * MINUTE)
    assert isinstance(moved, team_sessions.NextQuestion) and moved.live.question.id == "ops.abtest"
    team_sessions.vote(ctx, ANA, (where[0], "ops.abtest"), None, T0 + 6 * MINUTE, response_url=None)
    return where[0]


def test_the_export_holds_the_persons_own_session_votes_and_nobody_elses(database, ctx):
    session_id = _team_session(ctx)
    found = export_person(ctx, ANA)  # Ana never assessed in her DM: her votes are all there is
    assert found.known_since is None
    document = personal_json(found, T0 + timedelta(days=1))
    assert document["session_votes"] == [
        {
            "session_id": session_id,
            "channel": "C0TEAM",
            "question_id": "ops.rollback",
            "question_text": ctx.bank.question("ops.rollback").text,
            "level": 3,
            "voted_at": (T0 + MINUTE).isoformat(),
        },
        {
            "session_id": session_id,
            "channel": "C0TEAM",
            "question_id": "ops.abtest",
            "question_text": ctx.bank.question("ops.abtest").text,
            "level": "N/A",
            "voted_at": (T0 + 6 * MINUTE).isoformat(),
        },
    ]
    assert export_summary(found).endswith(", 2 session votes")
    assert [v.level for v in export_person(ctx, BEN).session_votes] == [2]
    assert export_person(ctx, ANA_ELSEWHERE).session_votes == ()


def test_forgetting_deletes_the_persons_votes_and_keeps_the_teams_levels_and_actions(database, ctx):
    session_id = _team_session(ctx)
    complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)

    deleted = forget_person(ctx.sessions, ANA, T0 + timedelta(days=1))
    assert deleted.session_votes == 2 and deleted.assessments == 1
    assert deleted_summary(deleted).endswith(", 2 session votes, 1 directory entry")
    assert export_person(ctx, ANA).session_votes == ()
    assert _count(database, SessionVote, SessionVote.user_id == "U0BEN") == 1  # Ben's vote stays
    assert _count(database, SessionOutcome, SessionOutcome.session_id == session_id) == 1  # the team's level
    with database.sessions() as session:
        action = session.scalars(select(SessionAction)).one()
        assert (action.text, action.owner, action.created_by) == ("Test the rollback", None, "U0BEN")
        assert session.get(TeamSession, session_id).facilitator is None  # type: ignore[union-attr]
    assert forget_person(ctx.sessions, ANA, T0 + timedelta(days=1)).nothing


def test_a_workspace_purge_is_the_same_deletion_for_everyone_in_it(database, ctx):
    complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
    complete_assessment(ctx, BEN, [4, 4, 4, 4, 4], T0)
    complete_assessment(ctx, ANA_ELSEWHERE, [3, 3, 3, 3, 3], T0)
    _team(database, "T0001", "C0TEAM", ["U0ANA", "U0BEN"])
    deleted = forget_workspace_people(ctx.sessions, "T0001", T0)
    assert (deleted.people, deleted.assessments, deleted.channel_memberships, deleted.sends) == (2, 2, 2, 2)
    assert _count(database, Assessment) == 1 and _count(database, Respondent) == 1
    assert forget_workspace_people(ctx.sessions, "T9999", T0).nothing


def test_a_leased_request_is_left_to_finish(database, ctx):
    complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
    with database.sessions.begin() as session:
        session.add(PendingWork(kind="forget", owner="T0001:U0ANA", payload="{}", queued_at=T0,
                                attempts=1, leased_until=T0 + MINUTE))  # fmt: skip
    assert forget_person(ctx.sessions, ANA, T0).queued_requests == 0
    assert _count(database, PendingWork) == 1


def test_retention_deletes_old_completed_and_expired_unfinished_assessments(database, ctx):
    old = complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
    recent = complete_assessment(ctx, ANA, [2, 2, 2, 2, 2], T0 + timedelta(days=700))
    restart_assessment(ctx, BEN, T0 + timedelta(days=690))  # unfinished, untouched since
    open_now = restart_assessment(ctx, ANA_ELSEWHERE, T0 + timedelta(days=725)).assessment_id
    retention = Retention(730)

    assert purge_expired(ctx.sessions, retention, T0 + timedelta(days=700)).nothing
    moved = T0 + timedelta(days=731)
    deleted = purge_expired(ctx.sessions, retention, moved)
    assert (deleted.assessments, deleted.reports, deleted.answers) == (2, 1, 5)
    with database.sessions() as session:
        assert set(session.scalars(select(Assessment.id))) == {recent, open_now}
        assert session.scalar(select(func.count()).select_from(Answer).where(Answer.assessment_id == old)) == 0
        assert session.scalar(select(func.count()).select_from(DimensionScore).where(
            DimensionScore.assessment_id == old)) == 0  # fmt: skip
    assert purge_expired(ctx.sessions, retention, moved).nothing


def test_the_schedulers_retention_step_runs_once_a_day_by_the_clock_it_is_given(database, ctx):
    from bot.run.scheduler import retention_step

    complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
    step = retention_step(ctx.sessions, 730)
    assert step(T0) == Deleted()  # due at the first tick: nothing old enough yet
    assert step(T0 + timedelta(days=740)) is not None  # a day later: due, and it deletes
    assert _count(database, Assessment) == 0
    assert step(T0 + timedelta(days=740, hours=23)) is None  # not due again within the day


def test_the_retention_setting_is_checked_with_the_others():
    from bot.config import ConfigError, Settings

    assert Settings.from_env({}).COMPASS_RETENTION_DAYS == 730
    with pytest.raises(ConfigError, match="COMPASS_RETENTION_DAYS"):
        Settings.from_env({"COMPASS_RETENTION_DAYS": "7"})
