"""Use cases on a real database (SQLite and PostgreSQL): state is set up and checked through the services."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from conftest import SMALL_BANK, T0
from sqlalchemy import select

from bot.app.assessment import (
    attach_message,
    current_progress,
    go_back,
    record_answer,
    restart_assessment,
    start_assessment,
)
from bot.app.context import AppContext
from bot.app.results import history, latest_report
from bot.app.types import AnswerResult, Click, Who
from bot.db.models import Answer, Assessment, DimensionScore
from bot.db.setup import Database
from bot.domain.errors import BankChanged, NoAssessment, NotYourAssessment
from bot.domain.flow import DEFAULT_EXPIRY, Outcome, Status
from bot.domain.questionnaire import Questionnaire, parse_questionnaire
from bot.domain.scoring import score_answers

ANA = Who("T0001", "U0ANA")
BEN = Who("T0001", "U0BEN")
MINUTE = timedelta(minutes=1)


def answer_all(
    database: Database, bank: Questionnaire, who: Who, answers: dict[str, int | None], start=T0
) -> AnswerResult:
    """Start (or resume) and answer every remaining question from ``answers``; returns the last result."""
    progress = start_assessment(AppContext(database.sessions, bank), who, start).progress
    now = start
    result = None
    while progress.status is Status.ASKING:
        assert progress.question is not None
        now += MINUTE
        question_id = progress.question.id
        result = record_answer(
            AppContext(database.sessions, bank),
            who,
            Click(progress.assessment_id, question_id, answers[question_id]),
            now,
        )
        progress = result.progress
    assert result is not None
    return result


def mixed(bank: Questionnaire) -> dict[str, int | None]:
    return {q.id: (None if q.allow_na else i % 4 + 1) for i, q in enumerate(bank)}


def uniform(bank: Questionnaire, level: int) -> dict[str, int | None]:
    return {q.id: level for q in bank}


def stored_answers(database: Database, assessment_id: int) -> dict[str, int | None]:
    with database.sessions() as session:
        rows = session.execute(
            select(Answer.question_id, Answer.level).where(Answer.assessment_id == assessment_id)
        ).all()
    return dict(rows)


def row(database: Database, assessment_id: int) -> Assessment:
    with database.sessions() as session:
        found = session.get(Assessment, assessment_id)
        assert found is not None
        return found


def statuses(database: Database) -> list[str]:
    with database.sessions() as session:
        return list(session.scalars(select(Assessment.status).order_by(Assessment.id)))


def changed_bank(bank_doc: dict, weight: int = 2) -> Questionnaire:
    doc = copy.deepcopy(bank_doc)
    doc["questions"][0]["weight"] = weight
    return parse_questionnaire(doc)


SMALL_DOC = json.loads(SMALL_BANK.read_text(encoding="utf-8"))


def test_starting_asks_the_first_question_and_records_the_bank(database, small_bank):
    started = start_assessment(AppContext(database.sessions, small_bank), ANA, T0)

    assert not started.resumable
    progress = started.progress
    assert progress.status is Status.ASKING
    assert progress.position == 0
    assert progress.number == 1
    assert progress.total == len(small_bank)
    assert progress.question == small_bank.questions[0]
    assert progress.dimension_name == small_bank.dimension(small_bank.questions[0].dimension).name
    assert not progress.has_previous_answer
    stored = row(database, progress.assessment_id)
    assert (stored.bank_version, stored.bank_hash) == (small_bank.version, small_bank.content_hash)
    assert stored.started_at == T0


def test_starting_while_one_is_in_progress_offers_to_resume_at_the_same_question(database, small_bank):
    first = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    for i in range(2):
        record_answer(
            AppContext(database.sessions, small_bank),
            ANA,
            Click(first.assessment_id, small_bank.questions[i].id, 2),
            T0 + MINUTE,
        )

    again = start_assessment(AppContext(database.sessions, small_bank), ANA, T0 + timedelta(hours=1))

    assert again.resumable
    assert again.progress.assessment_id == first.assessment_id
    assert again.progress.position == 2
    assert again.progress.question == small_bank.questions[2]
    assert statuses(database) == [Status.ASKING.value]


def test_restart_abandons_the_unfinished_assessment_and_begins_a_new_one(database, small_bank):
    first = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(first.assessment_id, small_bank.questions[0].id, 3), T0
    )

    fresh = restart_assessment(AppContext(database.sessions, small_bank), ANA, T0 + MINUTE)

    assert fresh.assessment_id != first.assessment_id
    assert fresh.position == 0
    assert row(database, first.assessment_id).status == Status.ABANDONED.value
    assert row(database, fresh.assessment_id).status == Status.ASKING.value
    assert stored_answers(database, fresh.assessment_id) == {}
    assert stored_answers(database, first.assessment_id) == {small_bank.questions[0].id: 3}
    late = record_answer(
        AppContext(database.sessions, small_bank),
        ANA,
        Click(first.assessment_id, small_bank.questions[1].id, 2),
        T0 + MINUTE,
    )
    assert late.outcome is Outcome.CLOSED


def test_restart_hands_the_abandoned_assessments_chat_message_to_the_new_one(database, small_bank):
    """So that showing the new question elsewhere empties that message, as for any earlier live message."""
    ctx = AppContext(database.sessions, small_bank)
    first = start_assessment(ctx, ANA, T0).progress
    attach_message(ctx, first.assessment_id, "D0ANA", "1700000000.000100")

    fresh = restart_assessment(ctx, ANA, T0 + MINUTE)

    assert (fresh.channel_id, fresh.message_ts) == ("D0ANA", "1700000000.000100")
    assert current_progress(ctx, ANA, T0 + MINUTE) == fresh


def test_each_answer_is_stored_with_its_dimension_weight_and_time(database, small_bank):
    progress = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    question = small_bank.questions[0]

    result = record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, question.id, 3), T0 + MINUTE
    )

    assert result.outcome is Outcome.ACCEPTED
    assert result.progress.position == 1
    with database.sessions() as session:
        answer = session.scalars(select(Answer).where(Answer.assessment_id == progress.assessment_id)).one()
    assert (answer.question_id, answer.level, answer.dimension_id) == (question.id, 3, question.dimension)
    assert answer.weight == float(question.weight)
    assert answer.answered_at == T0 + MINUTE
    stored = row(database, progress.assessment_id)
    assert (stored.position, stored.answered_count, stored.updated_at) == (1, 1, T0 + MINUTE)


def test_not_applicable_is_stored_as_no_level(database, small_bank):
    answers = mixed(small_bank)

    result = answer_all(database, small_bank, ANA, answers)

    assert stored_answers(database, result.progress.assessment_id) == answers
    assert row(database, result.progress.assessment_id).answered_count == sum(v is not None for v in answers.values())


def test_back_shows_the_earlier_answer_and_a_new_answer_overwrites_it(database, small_bank):
    progress = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    first, second = small_bank.questions[0], small_bank.questions[1]
    record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, first.id, 1), T0 + MINUTE
    )

    back = go_back(
        AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, second.id), T0 + 2 * MINUTE
    )

    assert back.outcome is Outcome.MOVED_BACK
    assert back.progress.question == first
    assert back.progress.has_previous_answer
    assert back.progress.previous_answer == 1

    again = record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, first.id, 4), T0 + 3 * MINUTE
    )

    assert again.outcome is Outcome.ACCEPTED
    assert again.progress.question == second
    assert stored_answers(database, progress.assessment_id) == {first.id: 4}


def test_stale_and_duplicate_answers_change_nothing_stored(database, small_bank):
    progress = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    first, third = small_bank.questions[0], small_bank.questions[2]
    record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, first.id, 2), T0 + MINUTE
    )
    before = row(database, progress.assessment_id)

    duplicate = record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, first.id, 2), T0 + 2 * MINUTE
    )
    stale = record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, third.id, 4), T0 + 2 * MINUTE
    )

    assert (duplicate.outcome, stale.outcome) == (Outcome.DUPLICATE, Outcome.STALE)
    assert stale.progress.position == 1
    after = row(database, progress.assessment_id)
    assert (after.version, after.position, after.updated_at) == (before.version, before.position, before.updated_at)
    assert stored_answers(database, progress.assessment_id) == {first.id: 2}


def test_completing_stores_the_scores_and_the_report(database, small_bank):
    answers = mixed(small_bank)
    expected = score_answers(small_bank, answers)

    result = answer_all(database, small_bank, ANA, answers)

    assert result.outcome is Outcome.COMPLETED
    report = result.progress.report
    assert report is not None
    assert report.overall == pytest.approx(float(expected.overall))
    assert report.level == expected.level
    assert report.answered == expected.answered
    assert report.not_applicable == sum(v is None for v in answers.values())
    assert report.top is not None and expected.top is not None
    assert report.top.step.text == expected.top.step.text
    assert report.change is None
    stored = row(database, result.progress.assessment_id)
    assert stored.status == Status.COMPLETE.value
    assert stored.overall_score == pytest.approx(float(expected.overall))
    assert stored.overall_level == expected.level
    assert stored.completed_at is not None
    assert json.loads(stored.report_json or "{}")["overall"] == report.overall
    with database.sessions() as session:
        scores = {
            s.dimension_id: (s.score, s.level, s.answered)
            for s in session.scalars(select(DimensionScore).where(DimensionScore.assessment_id == stored.id))
        }
    assert scores == {d.dimension_id: (pytest.approx(float(d.score)), d.level, d.answered) for d in expected.dimensions}


def test_an_answer_after_completion_is_closed_and_shows_the_stored_report(database, small_bank):
    done = answer_all(database, small_bank, ANA, uniform(small_bank, 3))

    late = record_answer(
        AppContext(database.sessions, small_bank),
        ANA,
        Click(done.progress.assessment_id, small_bank.questions[-1].id, 1),
        T0,
    )

    assert late.outcome is Outcome.CLOSED
    assert late.progress.report is not None
    assert late.progress.report.overall == 3
    assert stored_answers(database, done.progress.assessment_id) == uniform(small_bank, 3)


def test_history_lists_newest_first_with_the_change_since_the_previous(database, small_bank):
    runs = [uniform(small_bank, 1), mixed(small_bank), uniform(small_bank, 4)]
    for day, answers in enumerate(runs):
        answer_all(database, small_bank, ANA, answers, start=T0 + timedelta(days=day))
    overall = [float(score_answers(small_bank, answers).overall) for answers in runs]

    entries = history(database.sessions, ANA)

    assert [e.overall for e in entries] == pytest.approx(list(reversed(overall)))
    assert [e.level for e in entries] == [score_answers(small_bank, a).level for a in reversed(runs)]
    assert entries[0].change == pytest.approx(overall[2] - overall[1])
    assert entries[1].change == pytest.approx(overall[1] - overall[0])
    assert entries[2].change is None
    assert [e.completed_at for e in entries] == sorted((e.completed_at for e in entries), reverse=True)
    assert {e.bank_version for e in entries} == {small_bank.version}


def test_history_limit_keeps_the_change_against_the_older_result(database, small_bank):
    for day, level in enumerate((2, 3)):
        answer_all(database, small_bank, ANA, uniform(small_bank, level), start=T0 + timedelta(days=day))

    entries = history(database.sessions, ANA, limit=1)

    assert len(entries) == 1
    assert entries[0].change == pytest.approx(1.0)


def test_history_is_per_person_and_empty_for_a_stranger(database, small_bank):
    answer_all(database, small_bank, ANA, uniform(small_bank, 2))

    assert history(database.sessions, BEN) == []
    assert history(database.sessions, Who("T0002", ANA.user)) == []
    assert latest_report(database.sessions, BEN) is None


def test_latest_report_carries_the_change_overall_and_per_dimension(database, small_bank):
    first_answers, second_answers = uniform(small_bank, 1), mixed(small_bank)
    answer_all(database, small_bank, ANA, first_answers, start=T0)
    answer_all(database, small_bank, ANA, second_answers, start=T0 + timedelta(days=90))
    first, second = score_answers(small_bank, first_answers), score_answers(small_bank, second_answers)

    report = latest_report(database.sessions, ANA)

    assert report is not None
    assert report.overall == pytest.approx(float(second.overall))
    assert report.change == pytest.approx(float(second.overall - first.overall))
    assert report.previous_at is not None
    for dim in report.dimensions:
        now, before = second.dimension(dim.id).score, first.dimension(dim.id).score
        assert dim.change == pytest.approx(float(now - before))


def test_the_completion_report_already_shows_the_change_since_last_time(database, small_bank):
    answer_all(database, small_bank, ANA, uniform(small_bank, 2), start=T0)

    result = answer_all(database, small_bank, ANA, uniform(small_bank, 3), start=T0 + timedelta(days=1))

    assert result.progress.report is not None
    assert result.progress.report.change == pytest.approx(1.0)


def test_someone_elses_assessment_id_is_refused(database, small_bank):
    anas = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    start_assessment(AppContext(database.sessions, small_bank), BEN, T0)
    question = small_bank.questions[0].id

    with pytest.raises(NotYourAssessment):
        record_answer(AppContext(database.sessions, small_bank), BEN, Click(anas.assessment_id, question, 1), T0)
    with pytest.raises(NotYourAssessment):
        go_back(AppContext(database.sessions, small_bank), BEN, Click(anas.assessment_id, question), T0)
    with pytest.raises(NotYourAssessment):
        record_answer(
            AppContext(database.sessions, small_bank),
            Who("T0002", ANA.user),
            Click(anas.assessment_id, question, 1),
            T0,
        )
    assert stored_answers(database, anas.assessment_id) == {}


def test_an_unknown_assessment_id_is_reported(database, small_bank):
    with pytest.raises(NoAssessment):
        record_answer(AppContext(database.sessions, small_bank), ANA, Click(4242, small_bank.questions[0].id, 1), T0)


def test_an_invalid_answer_stores_nothing(database, small_bank):
    progress = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    refuses_na = next(q for q in small_bank if not q.allow_na)
    assert refuses_na == small_bank.questions[0]

    with pytest.raises(ValueError, match="not applicable"):
        record_answer(
            AppContext(database.sessions, small_bank), ANA, Click(progress.assessment_id, refuses_na.id, None), T0
        )

    assert stored_answers(database, progress.assessment_id) == {}
    assert row(database, progress.assessment_id).version == progress.version


def test_a_changed_bank_expires_the_unfinished_assessment_on_the_next_start(database, small_bank):
    old = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(old.assessment_id, small_bank.questions[0].id, 2), T0
    )
    new_bank = changed_bank(SMALL_DOC)
    assert new_bank.content_hash != small_bank.content_hash

    with pytest.raises(BankChanged):
        record_answer(
            AppContext(database.sessions, new_bank),
            ANA,
            Click(old.assessment_id, new_bank.questions[1].id, 2),
            T0 + MINUTE,
        )
    started = start_assessment(AppContext(database.sessions, new_bank), ANA, T0 + MINUTE)

    assert not started.resumable
    assert started.progress.assessment_id != old.assessment_id
    assert row(database, old.assessment_id).status == Status.EXPIRED.value
    assert row(database, started.progress.assessment_id).bank_hash == new_bank.content_hash
    assert stored_answers(database, old.assessment_id) == {small_bank.questions[0].id: 2}


def test_an_assessment_idle_for_thirty_days_is_resumed_until_then_and_expired_after(database, small_bank):
    old = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    last = T0 + timedelta(hours=1)
    record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(old.assessment_id, small_bank.questions[0].id, 2), last
    )

    on_the_day = start_assessment(AppContext(database.sessions, small_bank), ANA, last + DEFAULT_EXPIRY)
    after = start_assessment(
        AppContext(database.sessions, small_bank), ANA, last + DEFAULT_EXPIRY + timedelta(seconds=1)
    )

    assert on_the_day.resumable
    assert on_the_day.progress.assessment_id == old.assessment_id
    assert not after.resumable
    assert after.progress.assessment_id != old.assessment_id
    assert row(database, old.assessment_id).status == Status.EXPIRED.value


def test_current_progress_follows_the_unfinished_assessment(database, small_bank):
    assert current_progress(AppContext(database.sessions, small_bank), ANA, T0) is None
    started = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    record_answer(
        AppContext(database.sessions, small_bank), ANA, Click(started.assessment_id, small_bank.questions[0].id, 2), T0
    )

    current = current_progress(AppContext(database.sessions, small_bank), ANA, T0 + MINUTE)
    expired = current_progress(AppContext(database.sessions, small_bank), ANA, T0 + DEFAULT_EXPIRY + MINUTE)

    assert current is not None
    assert (current.assessment_id, current.position) == (started.assessment_id, 1)
    assert expired is None
    assert row(database, started.assessment_id).status == Status.EXPIRED.value


def test_people_in_different_workspaces_have_separate_assessments(database, small_bank):
    here = start_assessment(AppContext(database.sessions, small_bank), ANA, T0).progress
    elsewhere = start_assessment(AppContext(database.sessions, small_bank), Who("T0002", ANA.user), T0)

    assert not elsewhere.resumable
    assert elsewhere.progress.assessment_id != here.assessment_id
    assert statuses(database) == [Status.ASKING.value, Status.ASKING.value]
