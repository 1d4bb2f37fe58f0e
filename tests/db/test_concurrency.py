"""Concurrent clicks on one assessment never create two answer rows nor skip a question.

Threads are released together by a barrier, on SQLite and on PostgreSQL; a last test
runs two ``compass assess`` processes against the same database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import SHIPPED_BANK, T0
from fakemessenger import TEAM, FakeMessenger
from sqlalchemy import func, select

from bot.app.assessment import current_progress, record_answer, restart_assessment, start_assessment
from bot.app.context import AppContext
from bot.app.digests import subscribe_digest
from bot.app.outreach import OutreachSettings
from bot.app.scheduled_run import run_due
from bot.app.types import Click, Who
from bot.db.models import Answer, Assessment, ChannelMember, DigestSubscription, DimensionScore, Respondent
from bot.db.setup import Database, open_database
from bot.domain.flow import Outcome, Status
from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.schedule import WorkingHours

R = TypeVar("R")
WHO = Who("T0001", "U0001")
COMPASS = Path(sys.executable).with_name("compass")


def together(count: int, action: Callable[[int], R]) -> list[R]:
    """Run ``action(i)`` in ``count`` threads released at the same moment; re-raise any failure."""
    barrier = threading.Barrier(count)
    results: list[R | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = action(i)
        except BaseException as exc:  # handed back to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def answers_of(database: Database, assessment_id: int) -> list[tuple[str, int | None]]:
    with database.sessions() as session:
        return list(
            session.execute(
                select(Answer.question_id, Answer.level)
                .where(Answer.assessment_id == assessment_id)
                .order_by(Answer.question_id)
            ).all()
        )


def assessment(database: Database, assessment_id: int) -> Assessment:
    with database.sessions() as session:
        row = session.get(Assessment, assessment_id)
        assert row is not None
        return row


def open_assessments(database: Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).where(Assessment.status == Status.ASKING.value)) or 0


@pytest.mark.parametrize("threads", [2, 8])
def test_simultaneous_identical_answers_store_one_row_and_advance_once(database, small_bank, threads):
    started = start_assessment(AppContext(database.sessions, small_bank), WHO, T0).progress
    question = small_bank.questions[0]

    results = together(
        threads,
        lambda i: record_answer(
            AppContext(database.sessions, small_bank),
            WHO,
            Click(started.assessment_id, question.id, 3),
            T0 + timedelta(seconds=i),
        ),
    )

    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count(Outcome.ACCEPTED) == 1
    assert set(outcomes) <= {Outcome.ACCEPTED, Outcome.DUPLICATE}
    assert answers_of(database, started.assessment_id) == [(question.id, 3)]
    row = assessment(database, started.assessment_id)
    assert row.position == started.position + 1
    assert row.version == started.version + 1
    assert row.answered_count == 1
    assert {r.progress.position for r in results} == {started.position + 1}


@pytest.mark.parametrize("threads", [2, 8])
def test_simultaneous_different_answers_keep_exactly_the_winning_one(database, small_bank, threads):
    started = start_assessment(AppContext(database.sessions, small_bank), WHO, T0).progress
    question = small_bank.questions[0]

    results = together(
        threads,
        lambda i: record_answer(
            AppContext(database.sessions, small_bank), WHO, Click(started.assessment_id, question.id, i % 4 + 1), T0
        ),
    )

    winners = [i for i, r in enumerate(results) if r.outcome is Outcome.ACCEPTED]
    assert len(winners) == 1
    stored = answers_of(database, started.assessment_id)
    assert stored == [(question.id, winners[0] % 4 + 1)]
    losers = {r.outcome for i, r in enumerate(results) if i != winners[0]}
    assert losers <= {Outcome.STALE, Outcome.DUPLICATE}
    assert assessment(database, started.assessment_id).position == 1


def test_answers_to_successive_questions_sent_at_once_never_skip_a_question(database, small_bank):
    started = start_assessment(AppContext(database.sessions, small_bank), WHO, T0).progress
    ids = [q.id for q in small_bank]

    # every question is answered at the same moment, each by its own thread
    results = together(
        len(ids),
        lambda i: record_answer(
            AppContext(database.sessions, small_bank), WHO, Click(started.assessment_id, ids[i], 2), T0
        ),
    )

    accepted = {ids[i] for i, r in enumerate(results) if r.outcome in (Outcome.ACCEPTED, Outcome.COMPLETED)}
    refused = {r.outcome for r in results if r.outcome not in (Outcome.ACCEPTED, Outcome.COMPLETED)}
    assert ids[0] in accepted
    assert refused <= {Outcome.STALE}
    # whatever got through is an unbroken run from the first question
    assert accepted == set(ids[: len(accepted)])
    assert answers_of(database, started.assessment_id) == sorted((qid, 2) for qid in accepted)
    row = assessment(database, started.assessment_id)
    assert row.answered_count == len(accepted)
    if len(accepted) < len(ids):
        assert row.position == len(accepted)


def run_to_completion(database: Database, bank: Questionnaire, assessment_id: int, level: int) -> list[Outcome]:
    """Keep answering whatever the database says is the current question until it is closed."""
    outcomes = []
    for attempt in range(5 * len(bank)):
        progress = current_progress(AppContext(database.sessions, bank), WHO, T0 + timedelta(seconds=attempt))
        if progress is None or progress.question is None:
            break
        result = record_answer(
            AppContext(database.sessions, bank),
            WHO,
            Click(assessment_id, progress.question.id, level),
            T0 + timedelta(seconds=attempt),
        )
        outcomes.append(result.outcome)
    return outcomes


@pytest.mark.parametrize("threads", [2, 6])
def test_threads_racing_through_successive_questions_end_complete_and_consistent(database, small_bank, threads):
    started = start_assessment(AppContext(database.sessions, small_bank), WHO, T0).progress

    results = together(threads, lambda i: run_to_completion(database, small_bank, started.assessment_id, 2))

    every = [o for outcomes in results for o in outcomes]
    assert every.count(Outcome.ACCEPTED) == len(small_bank) - 1
    assert every.count(Outcome.COMPLETED) == 1
    assert set(every) <= {Outcome.ACCEPTED, Outcome.COMPLETED, Outcome.DUPLICATE, Outcome.CLOSED}
    assert answers_of(database, started.assessment_id) == sorted((q.id, 2) for q in small_bank)
    row = assessment(database, started.assessment_id)
    assert row.status == Status.COMPLETE.value
    assert row.answered_count == len(small_bank)
    assert row.version == started.version + len(small_bank)
    with database.sessions() as session:
        scores = session.scalars(select(DimensionScore).where(DimensionScore.assessment_id == row.id)).all()
    assert sorted(s.dimension_id for s in scores) == sorted(d.id for d in small_bank.dimensions)


@pytest.mark.parametrize("threads", [2, 8])
def test_simultaneous_starts_leave_one_assessment_in_progress(database, small_bank, threads):
    results = together(threads, lambda i: start_assessment(AppContext(database.sessions, small_bank), WHO, T0))

    assert sum(not r.resumable for r in results) == 1
    assert len({r.progress.assessment_id for r in results}) == 1
    assert open_assessments(database) == 1
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_simultaneous_restarts_leave_one_assessment_in_progress(database, small_bank):
    start_assessment(AppContext(database.sessions, small_bank), WHO, T0)

    results = together(
        8, lambda i: restart_assessment(AppContext(database.sessions, small_bank), WHO, T0 + timedelta(minutes=1))
    )

    assert open_assessments(database) == 1
    with database.sessions() as session:
        statuses = session.scalars(select(Assessment.status)).all()
    assert sorted(statuses) == sorted([Status.ABANDONED.value] * 8 + [Status.ASKING.value])
    survivor = max(r.assessment_id for r in results)
    assert assessment(database, survivor).status == Status.ASKING.value


def test_two_processes_answering_the_same_assessment_store_each_answer_once(database_url, tmp_path):
    """Two ``compass assess --answers`` runs for one person against one (fresh) database."""
    bank = load_questionnaire(SHIPPED_BANK)
    answers = {q.id: i % 4 + 1 for i, q in enumerate(bank)}
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers), encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "COMPASS_QUESTIONS": str(SHIPPED_BANK),
        "NO_COLOR": "1",
    }
    command = [str(COMPASS), "assess", "--answers", str(answers_file), "--json", "--user", "racer"]

    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]

    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err.decode()
        assert json.loads(out)["answered"] == len(bank)
    database = open_database(database_url, auto_migrate=False)
    try:
        with database.sessions() as session:
            rows = session.scalars(select(Assessment)).all()
            assert rows and all(r.status == Status.COMPLETE.value for r in rows)
            for row in rows:
                stored = session.execute(
                    select(Answer.question_id, Answer.level).where(Answer.assessment_id == row.id)
                ).all()
                assert sorted(stored) == sorted(answers.items())
    finally:
        database.dispose()


def channel_members(database: Database) -> dict[str, list[str]]:
    """Each digest channel's stored members."""
    with database.sessions() as session:
        rows = session.execute(
            select(DigestSubscription.channel_id, ChannelMember.user_id)
            .join(ChannelMember, ChannelMember.subscription_id == DigestSubscription.id)
            .order_by(DigestSubscription.channel_id, ChannelMember.user_id)
        ).all()
    members: dict[str, list[str]] = {}
    for channel, user in rows:
        members.setdefault(channel, []).append(user)
    return members


ANY_TIME = OutreachSettings(min_respondents=3, hours=WorkingHours(frozenset(range(7)), 0, 24))


@pytest.mark.parametrize("threads", [2, 8])
def test_simultaneous_scheduled_runs_store_every_team_and_send_everything_once(database, small_bank, threads):
    """Scheduled runs started at once, storing the same channels' members (and creating the people
    first seen, shared between channels) at the same moment: none fails, each team is the channel's
    members, and every digest and invitation goes out once."""
    ctx = AppContext(database.sessions, small_bank)
    fake = FakeMessenger()
    people = [f"U{i:03d}" for i in range(40)]
    channels = [f"C{n}" for n in range(3)]
    for n, channel in enumerate(channels):
        fake.add_channel(channel, people[10 * n : 10 * n + 20])
        subscribe_digest(ctx, Who(TEAM, "U0LEAD"), channel, "monthly", T0 - timedelta(days=40))

    reports = together(threads, lambda i: run_due(ctx, fake, ANY_TIME, T0))

    assert channel_members(database) == {c: sorted(fake.channels[c]) for c in channels}
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Respondent)) == 40
    assert sorted(s.target for s in fake.messages("digest")) == channels
    assert sorted(s.target for s in fake.messages("invitation")) == people
    assert sum(r.digests for r in reports) == 3 and sum(r.prompts for r in reports) == 40


@pytest.mark.parametrize("threads", [2, 8])
def test_simultaneous_runs_finding_a_channel_gone_pause_it_and_tell_its_owner_once(database, small_bank, threads):
    ctx = AppContext(database.sessions, small_bank)
    fake = FakeMessenger()
    fake.add_channel("C1", ["U1", "U2"])
    fake.refuse_channel("C1", "is_archived")
    subscribe_digest(ctx, Who(TEAM, "U0LEAD"), "C1", "monthly", T0 - timedelta(days=40))

    reports = together(threads, lambda i: run_due(ctx, fake, ANY_TIME, T0 + timedelta(minutes=i)))

    assert [s.target for s in fake.messages("notice")] == ["U0LEAD"]
    assert sum(len(r.paused_channels) for r in reports) == 1
