"""Carrying an unfinished assessment over to an edited bank: which answers survive, where it
resumes, and the one line the person is told."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain import flow
from bot.domain.flow import Outcome, RunState, Status
from bot.domain.questionnaire import Questionnaire, parse_questionnaire
from bot.domain.rebase import NOTHING_KEPT, BankChange, rebase

SMALL = json.loads((Path(__file__).resolve().parents[1] / "data" / "questions_small.json").read_text(encoding="utf-8"))
OLD = parse_questionnaire(SMALL)
IDS = [q.id for q in OLD]  # data.versioning, data.validation, ops.rollback, ops.abtest, ops.monitoring
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=2)

Doc = dict[str, Any]


def edited(*edits: Callable[[Doc], object]) -> Questionnaire:
    doc = copy.deepcopy(SMALL)
    for edit in edits:
        edit(doc)
    return parse_questionnaire(doc)


def question(doc: Doc, question_id: str) -> Doc:
    found: Doc = next(q for q in doc["questions"] if q["id"] == question_id)
    return found


def reword(question_id: str, text: str = "Reworded?") -> Callable[[Doc], object]:
    return lambda doc: question(doc, question_id).update(text=text)


def retitle(question_id: str) -> Callable[[Doc], object]:
    return lambda doc: question(doc, question_id).update(title="A new title")


def remove(question_id: str) -> Callable[[Doc], object]:
    return lambda doc: doc["questions"].remove(question(doc, question_id))


def insert(index: int, question_id: str, like: str = IDS[1]) -> Callable[[Doc], object]:
    def add(doc: Doc) -> None:
        doc["questions"].insert(index, {**copy.deepcopy(question(doc, like)), "id": question_id})

    return add


def answered(count: int, level: int = 2) -> RunState:
    """An assessment on the old bank with its first ``count`` questions answered."""
    state = flow.start(OLD, T0)
    for i in range(count):
        state = flow.answer(OLD, state, IDS[i], level, T0 + timedelta(minutes=i + 1)).state
    return state


def hashes_of(state: RunState, bank: Questionnaire = OLD) -> dict[str, str | None]:
    return {qid: bank.question(qid).content_hash for qid in state.answers}


def moved(state: RunState, bank: Questionnaire, hashes: dict[str, str | None] | None = None) -> BankChange:
    return rebase(bank, state, hashes_of(state) if hashes is None else hashes, IDS, LATER)


def test_unchanged_answers_are_kept_and_the_assessment_resumes_at_the_first_open_question():
    state = answered(3)
    bank = edited(reword(IDS[4]), retitle(IDS[0]))

    change = moved(state, bank)

    assert change.kept == tuple(IDS[:3])
    assert (change.changed, change.removed, change.unverified, change.new) == ((), (), (), ())
    assert change.state.status is Status.ASKING
    assert dict(change.state.answers) == {qid: 2 for qid in IDS[:3]}
    assert change.state.position == 3
    assert change.state.version == state.version + 1
    assert change.state.updated_at == LATER
    assert change.state.started_at == state.started_at
    # A new title, and a question not reached yet that was reworded: nothing to tell.
    assert change.notice is None


def test_an_answer_to_a_changed_question_is_dropped_and_that_question_is_asked_again():
    state = answered(3)
    bank = edited(reword(IDS[1]))

    change = moved(state, bank)

    assert change.kept == (IDS[0], IDS[2])
    assert change.changed == (IDS[1],)
    assert dict(change.state.answers) == {IDS[0]: 2, IDS[2]: 2}
    assert flow.current_question(bank, change.state) == bank.question(IDS[1])
    assert change.notice == (
        "The questionnaire changed since you started: 1 question you answered has changed; "
        "your 2 other answers were kept."
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda q: q.update(text="How are training sets stored?"),
        lambda q: q["options"][2].update(label="Tracked"),
        lambda q: q["options"][0].update(text="Nobody keeps training data."),
        lambda q: q.update(allow_na=True),
        lambda q: q.update(dimension="ops"),
        lambda q: q.update(weight=2),
    ],
    ids=["text", "option label", "option text", "allow_na", "dimension", "weight"],
)
def test_what_an_answer_means_is_its_question_text_options_na_dimension_and_weight(edit):
    bank = edited(lambda doc: edit(question(doc, IDS[0])))

    assert bank.question(IDS[0]).content_hash != OLD.question(IDS[0]).content_hash
    assert [q.content_hash for q in bank][1:] == [q.content_hash for q in OLD][1:]


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: question(doc, IDS[0]).update(title="Dataset versions"),
        lambda doc: question(doc, IDS[0])["next_steps"].update({"1": "Start versioning today."}),
        lambda doc: question(doc, IDS[0]).update(weight=3.0, text="  How are training sets kept?  "),
        lambda doc: doc["questions"].reverse(),
        lambda doc: doc.update(version="test-2"),
        lambda doc: doc["dimensions"][0].update(name="Data work"),
    ],
    ids=["title", "next step", "same weight and text", "order", "version", "dimension name"],
)
def test_titles_advice_order_and_the_version_leave_every_answer_standing(edit):
    bank = edited(edit)

    assert bank.content_hash != OLD.content_hash
    assert {q.id: q.content_hash for q in bank} == {q.id: q.content_hash for q in OLD}


def test_an_answer_to_a_removed_question_is_dropped():
    state = answered(4)
    bank = edited(remove(IDS[2]))

    change = moved(state, bank)

    assert change.removed == (IDS[2],)
    assert change.kept == (IDS[0], IDS[1], IDS[3])
    assert flow.current_question(bank, change.state) == bank.question(IDS[4])
    assert change.notice == (
        "The questionnaire changed since you started: 1 question you answered was removed; "
        "your 3 other answers were kept."
    )


def test_a_new_question_among_the_answered_ones_is_asked_and_then_the_kept_answers_are_skipped():
    state = answered(3, level=4)
    bank = edited(insert(1, "data.lineage"))

    change = moved(state, bank)

    assert change.new == ("data.lineage",)
    assert change.kept == tuple(IDS[:3])
    assert flow.current_question(bank, change.state) == bank.question("data.lineage")
    assert change.notice == "The questionnaire changed since you started: 1 question is new; your 3 answers were kept."
    step = flow.answer(bank, change.state, "data.lineage", 1, LATER)
    assert step.outcome is Outcome.ACCEPTED
    assert flow.current_question(bank, step.state) == bank.question(IDS[3])  # not IDS[1] or IDS[2] again
    assert dict(step.state.answers) == {IDS[0]: 4, "data.lineage": 1, IDS[1]: 4, IDS[2]: 4}


def test_back_after_the_new_question_walks_the_kept_answers_in_order_as_before():
    state = answered(3)
    bank = edited(insert(1, "data.lineage"))
    at_new = moved(state, bank).state

    back = flow.back(bank, at_new, "data.lineage", LATER).state
    step = flow.answer(bank, back, IDS[0], 3, LATER)

    assert flow.current_question(bank, back) == bank.question(IDS[0])
    assert flow.current_question(bank, step.state) == bank.question("data.lineage")


def test_when_every_question_keeps_its_answer_the_last_one_is_shown_and_confirming_it_finishes():
    state = answered(4)
    bank = edited(remove(IDS[4]))

    change = moved(state, bank)
    step = flow.answer(bank, change.state, IDS[3], 2, LATER)

    assert change.state.position == len(bank) - 1
    assert change.notice is None  # a question not reached yet was removed
    assert step.outcome is Outcome.COMPLETED
    assert set(step.state.answers) == set(IDS[:4])


def test_when_no_answer_survives_the_assessment_is_closed_and_the_person_starts_afresh():
    state = answered(2)
    bank = edited(reword(IDS[0]), remove(IDS[1]))

    change = moved(state, bank)

    assert change.closed
    assert change.state.status is Status.EXPIRED
    assert change.state.version == state.version + 1 and change.state.updated_at == LATER
    assert change.state.answers == state.answers  # what was answered stays on record
    assert (change.kept, change.changed, change.removed) == ((), (IDS[0],), (IDS[1],))
    assert change.notice == NOTHING_KEPT
    assert NOTHING_KEPT == (
        "The questionnaire changed since you started and none of your answers still apply; starting afresh."
    )


def test_an_assessment_with_no_answers_yet_moves_to_the_new_bank_without_a_word():
    state = answered(0)
    bank = edited(insert(0, "data.lineage"), reword(IDS[0]))

    change = moved(state, bank)

    assert not change.closed
    assert change.state.position == 0
    assert change.new == ("data.lineage",)
    assert change.notice is None


def test_answers_stored_without_a_question_hash_cannot_be_proven_unchanged_and_are_dropped():
    state = answered(3)
    bank = edited(remove(IDS[2]))
    hashes: dict[str, str | None] = {IDS[0]: OLD.question(IDS[0]).content_hash, IDS[1]: None, IDS[2]: None}

    change = rebase(bank, state, hashes, None, LATER)

    assert change.kept == (IDS[0],)
    assert change.unverified == (IDS[1],)
    assert change.removed == (IDS[2],)  # gone from the bank: certain, hash or not
    assert change.new == ()  # the earlier bank's questions are unknown
    assert flow.current_question(bank, change.state) == bank.question(IDS[1])
    assert change.notice == (
        "The questionnaire changed since you started: 1 question you answered was removed, "
        "1 earlier answer could not be checked against the new version; your other answer was kept."
    )


@pytest.mark.parametrize(
    ("counts", "line"),
    [
        (
            (1, 1, 1, 1),
            "1 question is new, 1 question you answered has changed, 1 question you answered was removed; "
            "your other answer was kept.",
        ),
        (
            (2, 0, 0, 3),
            "2 questions are new; your 3 answers were kept.",
        ),
        (
            (0, 2, 3, 2),
            "2 questions you answered have changed, 3 questions you answered were removed; "
            "your 2 other answers were kept.",
        ),
        ((1, 0, 0, 1), "1 question is new; your answer was kept."),
    ],
)
def test_the_notice_counts_new_changed_removed_and_kept_with_correct_plurals(counts, line):
    new, changed, removed, kept = counts
    names = iter(f"q{i}" for i in range(100))
    change = BankChange(
        answered(0),
        kept=tuple(next(names) for _ in range(kept)),
        changed=tuple(next(names) for _ in range(changed)),
        removed=tuple(next(names) for _ in range(removed)),
        unverified=(),
        new=tuple(next(names) for _ in range(new)),
    )

    assert change.notice == f"The questionnaire changed since you started: {line}"


def test_only_an_assessment_in_progress_can_move_to_another_bank():
    done = flow.answer(OLD, answered(4), IDS[4], 1, LATER).state

    with pytest.raises(ValueError, match="in progress"):
        rebase(OLD, done, hashes_of(done), IDS, LATER)


def test_rebase_leaves_the_state_it_was_given_alone():
    state = answered(3)
    snapshot = (state.status, state.position, dict(state.answers), state.version)

    moved(state, edited(reword(IDS[0])))

    assert (state.status, state.position, dict(state.answers), state.version) == snapshot
