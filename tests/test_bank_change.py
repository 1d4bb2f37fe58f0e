"""An unfinished assessment when the question bank is edited: the use cases on a real database
(SQLite and PostgreSQL) keep the answers whose question did not change, resume at the first
open question, say what changed, and close the assessment only when nothing survives."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import SMALL_BANK, T0
from sqlalchemy import select, update

from bot.app.assessment import (
    attach_message,
    current_progress,
    go_back,
    record_answer,
    resume_assessment,
    start_assessment,
)
from bot.app.context import AppContext
from bot.app.types import Click, Progress, Who
from bot.db.models import Answer, Assessment
from bot.db.setup import Database
from bot.domain.flow import Outcome, Status
from bot.domain.questionnaire import Questionnaire, parse_questionnaire
from bot.domain.rebase import NOTHING_KEPT

ANA = Who("T0001", "U0ANA")
MINUTE = timedelta(minutes=1)
EDITED = T0 + timedelta(days=1)
SMALL: dict[str, Any] = json.loads(SMALL_BANK.read_text(encoding="utf-8"))
OLD = parse_questionnaire(SMALL)
IDS = [q.id for q in OLD]  # data.versioning, data.validation, ops.rollback, ops.abtest, ops.monitoring

Doc = dict[str, Any]


def edited(*edits: Callable[[Doc], object], version: str | None = None) -> Questionnaire:
    doc = copy.deepcopy(SMALL)
    for edit in edits:
        edit(doc)
    if version:
        doc["version"] = version
    return parse_questionnaire(doc)


def question(doc: Doc, question_id: str) -> Doc:
    found: Doc = next(q for q in doc["questions"] if q["id"] == question_id)
    return found


def reword(question_id: str) -> Callable[[Doc], object]:
    return lambda doc: question(doc, question_id).update(text="Reworded: what happens now?")


def remove(question_id: str) -> Callable[[Doc], object]:
    return lambda doc: doc["questions"].remove(question(doc, question_id))


def insert(index: int, question_id: str) -> Callable[[Doc], object]:
    return lambda doc: doc["questions"].insert(index, {**copy.deepcopy(question(doc, IDS[1])), "id": question_id})


def on(database: Database, bank: Questionnaire) -> AppContext:
    return AppContext(database.sessions, bank)


def answered(database: Database, levels: list[int | None], bank: Questionnaire = OLD) -> Progress:
    """Start on ``bank`` and answer its first questions with ``levels``; returns where it stands."""
    progress = start_assessment(on(database, bank), ANA, T0).progress
    for i, level in enumerate(levels):
        click = Click(progress.assessment_id, bank.questions[i].id, level)
        progress = record_answer(on(database, bank), ANA, click, T0 + (i + 1) * MINUTE).progress
    return progress


def stored_answers(database: Database, assessment_id: int) -> dict[str, tuple[int | None, str | None]]:
    """Each stored answer's level and question hash."""
    with database.sessions() as session:
        rows = session.execute(
            select(Answer.question_id, Answer.level, Answer.question_hash).where(Answer.assessment_id == assessment_id)
        ).all()
    return {qid: (level, qhash) for qid, level, qhash in rows}


def row(database: Database, assessment_id: int) -> Assessment:
    with database.sessions() as session:
        found = session.get(Assessment, assessment_id)
        assert found is not None
        return found


def test_answers_are_stored_with_their_questions_hash_and_the_assessment_with_its_banks_questions(database):
    progress = answered(database, [3, 1])

    assert stored_answers(database, progress.assessment_id) == {
        IDS[0]: (3, OLD.question(IDS[0]).content_hash),
        IDS[1]: (1, OLD.question(IDS[1]).content_hash),
    }
    assert json.loads(row(database, progress.assessment_id).bank_questions or "null") == IDS


def test_start_after_an_edit_keeps_the_unchanged_answers_and_resumes_at_the_changed_question(database):
    before = answered(database, [3, 1, 4])
    bank = edited(reword(IDS[1]), version="test-2")

    started = start_assessment(on(database, bank), ANA, EDITED)

    assert started.resumable
    progress = started.progress
    assert progress.assessment_id == before.assessment_id
    assert progress.question == bank.question(IDS[1]) and progress.number == 2
    assert not progress.has_previous_answer
    assert progress.unanswered == (IDS[1], IDS[3], IDS[4])
    assert progress.notice == (
        "The questionnaire changed since you started: 1 question you answered has changed; "
        "your 2 other answers were kept."
    )
    stored = row(database, before.assessment_id)
    assert (stored.status, stored.position) == (Status.ASKING.value, 1)
    assert (stored.bank_hash, stored.bank_version) == (bank.content_hash, "test-2")
    assert stored.answered_count == 2 and stored.updated_at == EDITED
    assert {qid: level for qid, (level, _) in stored_answers(database, before.assessment_id).items()} == {
        IDS[0]: 3,
        IDS[2]: 4,
    }


def test_the_notice_is_given_once_and_the_next_start_just_offers_to_resume(database):
    answered(database, [3, 1, 4])
    bank = edited(reword(IDS[1]))
    start_assessment(on(database, bank), ANA, EDITED)

    again = start_assessment(on(database, bank), ANA, EDITED + MINUTE)

    assert again.resumable and again.progress.number == 2
    assert again.progress.notice is None


def test_answering_after_the_edit_skips_the_kept_answers_and_completes_with_all_of_them(database):
    before = answered(database, [3, 1, 4])
    bank = edited(insert(1, "data.lineage"), remove(IDS[4]))
    progress = start_assessment(on(database, bank), ANA, EDITED).progress
    assert (
        progress.notice == "The questionnaire changed since you started: 1 question is new; your 3 answers were kept."
    )
    assert progress.question == bank.question("data.lineage")

    after_new = record_answer(on(database, bank), ANA, Click(before.assessment_id, "data.lineage", 2), EDITED)
    assert after_new.outcome is Outcome.ACCEPTED
    assert after_new.progress.question == bank.question(IDS[3])  # the kept answers are not asked again
    done = record_answer(on(database, bank), ANA, Click(before.assessment_id, IDS[3], None), EDITED + MINUTE)

    assert done.outcome is Outcome.COMPLETED
    assert done.progress.report is not None and done.progress.report.answered == 4
    assert done.progress.report.not_applicable == 1
    levels = {qid: level for qid, (level, _) in stored_answers(database, before.assessment_id).items()}
    assert levels == {IDS[0]: 3, "data.lineage": 2, IDS[1]: 1, IDS[2]: 4, IDS[3]: None}
    assert row(database, before.assessment_id).bank_hash == bank.content_hash


def test_an_edit_only_of_titles_and_advice_keeps_everything_without_a_word(database):
    before = answered(database, [3, 1])
    bank = edited(
        lambda doc: question(doc, IDS[0]).update(title="Dataset versions"),
        lambda doc: question(doc, IDS[1])["next_steps"].update({"1": "Write one check."}),
    )

    started = start_assessment(on(database, bank), ANA, EDITED)

    assert started.resumable and started.progress.number == 3
    assert started.progress.notice is None
    assert set(stored_answers(database, before.assessment_id)) == {IDS[0], IDS[1]}
    assert row(database, before.assessment_id).bank_hash == bank.content_hash


def test_when_none_of_the_answers_survives_the_assessment_is_closed_and_a_fresh_one_takes_its_message(database):
    before = answered(database, [3, 1])
    attach_message(on(database, OLD), before.assessment_id, "D0ANA", "100.1")
    bank = edited(reword(IDS[0]), remove(IDS[1]))

    started = start_assessment(on(database, bank), ANA, EDITED)

    assert not started.resumable
    fresh = started.progress
    assert fresh.assessment_id != before.assessment_id
    assert fresh.number == 1 and fresh.notice == NOTHING_KEPT
    assert (fresh.channel_id, fresh.message_ts) == ("D0ANA", "100.1")
    old = row(database, before.assessment_id)
    assert old.status == Status.EXPIRED.value and old.bank_hash == OLD.content_hash
    assert set(stored_answers(database, before.assessment_id)) == {IDS[0], IDS[1]}  # kept on record
    assert row(database, fresh.assessment_id).bank_hash == bank.content_hash


def test_an_assessment_with_no_answers_moves_to_the_edited_bank_silently(database):
    before = answered(database, [])
    bank = edited(reword(IDS[0]))

    started = start_assessment(on(database, bank), ANA, EDITED)

    assert started.resumable and started.progress.assessment_id == before.assessment_id
    assert started.progress.notice is None and started.progress.number == 1


def test_current_progress_shows_where_it_would_resume_but_leaves_the_carry_over_to_start(database):
    before = answered(database, [3, 1, 4])
    bank = edited(reword(IDS[1]))

    looked = current_progress(on(database, bank), ANA, EDITED)

    assert looked is not None
    assert (looked.assessment_id, looked.number, looked.version) == (before.assessment_id, 2, before.version)
    assert looked.notice is not None and "1 question you answered has changed" in looked.notice
    stored = row(database, before.assessment_id)
    assert (stored.bank_hash, stored.position, stored.version) == (OLD.content_hash, 3, before.version)
    assert set(stored_answers(database, before.assessment_id)) == set(IDS[:3])
    started = start_assessment(on(database, bank), ANA, EDITED)
    assert started.progress.notice == looked.notice


def test_current_progress_shows_nothing_when_no_answer_would_survive(database):
    before = answered(database, [3])
    bank = edited(remove(IDS[0]))

    assert current_progress(on(database, bank), ANA, EDITED) is None
    assert row(database, before.assessment_id).status == Status.ASKING.value


def test_resume_carries_the_assessment_over_and_says_what_changed(database):
    before = answered(database, [3, 1, 4])
    bank = edited(remove(IDS[0]), insert(1, "ops.canary"))

    resumed = resume_assessment(on(database, bank), ANA, EDITED)

    assert resumed is not None and resumed.assessment_id == before.assessment_id
    assert resumed.question == bank.question("ops.canary")
    assert resumed.notice == (
        "The questionnaire changed since you started: 1 question is new, 1 question you answered was removed; "
        "your 2 other answers were kept."
    )


def test_resume_starts_afresh_when_nothing_survives_and_is_none_without_an_assessment(database):
    assert resume_assessment(on(database, OLD), ANA, T0) is None
    before = answered(database, [3])
    bank = edited(reword(IDS[0]))

    resumed = resume_assessment(on(database, bank), ANA, EDITED)

    assert resumed is not None and resumed.assessment_id != before.assessment_id
    assert resumed.notice == NOTHING_KEPT and resumed.number == 1
    assert row(database, before.assessment_id).status == Status.EXPIRED.value


def test_a_click_on_a_question_shown_before_the_edit_is_not_recorded_and_carries_the_assessment_over(database):
    before = answered(database, [3, 1])
    shown = OLD.question(IDS[2])
    bank = edited(reword(IDS[2]), reword(IDS[1]))

    result = record_answer(
        on(database, bank), ANA, Click(before.assessment_id, shown.id, 4, question_hash=shown.content_hash), EDITED
    )

    assert result.outcome is Outcome.STALE
    assert result.progress.assessment_id == before.assessment_id
    assert result.progress.question == bank.question(IDS[1])
    assert result.progress.notice == (
        "The questionnaire changed since you started: 1 question you answered has changed; your other answer was kept."
    )
    assert {qid for qid in stored_answers(database, before.assessment_id)} == {IDS[0]}
    # The same old button again: the assessment is on the new bank now, but the button showed the old text.
    again = record_answer(
        on(database, bank), ANA, Click(before.assessment_id, IDS[1], 4, question_hash=shown.content_hash), EDITED
    )
    assert again.outcome is Outcome.STALE and again.progress.notice is None
    now_shown = bank.question(IDS[1]).content_hash
    accepted = record_answer(
        on(database, bank), ANA, Click(before.assessment_id, IDS[1], 4, question_hash=now_shown), EDITED
    )
    assert accepted.outcome is Outcome.ACCEPTED and accepted.progress.question == bank.question(IDS[2])


def test_a_click_on_a_question_that_was_removed_is_stale_not_an_error(database):
    before = answered(database, [3])
    bank = edited(remove(IDS[1]))
    start_assessment(on(database, bank), ANA, EDITED)  # carried over: now at the old third question

    answer = record_answer(on(database, bank), ANA, Click(before.assessment_id, IDS[1], 2), EDITED)
    back = go_back(on(database, bank), ANA, Click(before.assessment_id, IDS[1]), EDITED)

    assert answer.outcome is back.outcome is Outcome.STALE
    assert answer.progress.question == bank.question(IDS[2])
    assert set(stored_answers(database, before.assessment_id)) == {IDS[0]}


def test_a_click_that_finds_nothing_surviving_starts_afresh_in_the_same_message(database):
    before = answered(database, [3])
    attach_message(on(database, OLD), before.assessment_id, "D0ANA", "100.1")
    bank = edited(reword(IDS[0]))

    result = record_answer(on(database, bank), ANA, Click(before.assessment_id, IDS[1], 2, message_ts="100.1"), EDITED)

    assert result.outcome is Outcome.STALE
    assert result.progress.assessment_id != before.assessment_id
    assert result.progress.notice == NOTHING_KEPT
    assert (result.progress.number, result.progress.message_ts) == (1, "100.1")
    assert row(database, before.assessment_id).status == Status.EXPIRED.value


def test_two_edits_in_a_row_compare_each_answer_with_the_question_it_was_given_to(database):
    before = answered(database, [3, 1, 4])
    second = edited(reword(IDS[2]))
    start_assessment(on(database, second), ANA, EDITED)
    record_answer(
        on(database, second), ANA, Click(before.assessment_id, IDS[2], 2), EDITED + MINUTE
    )  # answers the reworded question
    third = edited(reword(IDS[2]), remove(IDS[0]))

    started = start_assessment(on(database, third), ANA, EDITED + 2 * MINUTE)

    assert started.progress.notice == (
        "The questionnaire changed since you started: 1 question you answered was removed; "
        "your 2 other answers were kept."
    )
    levels = {qid: level for qid, (level, _) in stored_answers(database, before.assessment_id).items()}
    assert levels == {IDS[1]: 1, IDS[2]: 2}


def forget_hashes(database: Database, assessment_id: int) -> None:
    """Make the rows look as they did before migration 0006 stored question hashes."""
    with database.sessions.begin() as session:
        session.execute(update(Answer).where(Answer.assessment_id == assessment_id).values(question_hash=None))
        session.execute(update(Assessment).where(Assessment.id == assessment_id).values(bank_questions=None))


def test_answers_from_before_hashes_were_kept_are_trusted_while_the_whole_bank_is_the_same(database):
    before = answered(database, [3, 1])
    forget_hashes(database, before.assessment_id)

    started = start_assessment(on(database, OLD), ANA, EDITED)  # the same bank: fills the hashes in
    bank = edited(reword(IDS[1]))
    after_edit = start_assessment(on(database, bank), ANA, EDITED + MINUTE)

    assert started.progress.notice is None
    assert after_edit.progress.notice == (
        "The questionnaire changed since you started: 1 question you answered has changed; your other answer was kept."
    )
    assert set(stored_answers(database, before.assessment_id)) == {IDS[0]}


def test_a_click_on_the_same_bank_also_fills_in_the_missing_hashes(database):
    before = answered(database, [3, 1])
    forget_hashes(database, before.assessment_id)

    record_answer(on(database, OLD), ANA, Click(before.assessment_id, IDS[2], 4), EDITED)

    assert all(qhash is not None for _, qhash in stored_answers(database, before.assessment_id).values())
    assert json.loads(row(database, before.assessment_id).bank_questions or "null") == IDS


def test_answers_from_before_hashes_were_kept_cannot_be_proven_unchanged_after_an_edit(database):
    before = answered(database, [3, 1])
    forget_hashes(database, before.assessment_id)
    bank = edited(reword(IDS[4]))

    started = start_assessment(on(database, bank), ANA, EDITED)

    assert not started.resumable
    assert started.progress.notice == NOTHING_KEPT
    assert row(database, before.assessment_id).status == Status.EXPIRED.value


@pytest.mark.parametrize("level", [2, None])
def test_a_kept_not_applicable_answer_stays_not_applicable(database, level):
    before = answered(database, [3, 1, 4, level])
    bank = edited(reword(IDS[1]))

    start_assessment(on(database, bank), ANA, EDITED)

    assert stored_answers(database, before.assessment_id)[IDS[3]][0] == level
