"""The assessment state machine: pure transitions, time passed in, late and double clicks harmless."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import flow
from bot.domain.flow import InvalidAnswer, Outcome, RunState, Status
from bot.domain.questionnaire import Questionnaire, load_questionnaire

BANK = load_questionnaire(Path(__file__).resolve().parents[1] / "data" / "questions_small.json")
IDS = [q.id for q in BANK]
NA_ALLOWED = next(q.id for q in BANK if q.allow_na)
NA_REFUSED = next(q.id for q in BANK if not q.allow_na)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def asking_at(position: int, bank: Questionnaire = BANK, level: int = 2) -> RunState:
    """An assessment started at T0 whose first ``position`` questions were answered with ``level``."""
    state = flow.start(bank, T0)
    for i in range(position):
        state = flow.answer(bank, state, bank.questions[i].id, level, T0 + (i + 1) * MINUTE).state
    assert state.position == position
    return state


def test_start_asks_the_first_question():
    state = flow.start(BANK, T0)

    assert state.status is Status.ASKING
    assert state.in_progress
    assert state.position == 0
    assert flow.current_question(BANK, state) == BANK.questions[0]
    assert dict(state.answers) == {}
    assert state.started_at == state.updated_at == T0
    assert state.completed_at is None


def test_the_initial_state_asks_nothing():
    state = flow.initial()

    assert state.status is Status.INIT
    assert flow.current_question(BANK, state) is None
    assert flow.answer(BANK, state, IDS[0], 1, T0).outcome is Outcome.CLOSED


def test_answering_the_current_question_moves_to_the_next():
    state = flow.start(BANK, T0)
    later = T0 + 5 * MINUTE

    step = flow.answer(BANK, state, IDS[0], 3, later)

    assert step.outcome is Outcome.ACCEPTED
    assert step.changed
    assert step.state.position == 1
    assert dict(step.state.answers) == {IDS[0]: 3}
    assert step.state.version == state.version + 1
    assert step.state.updated_at == later
    assert step.state.started_at == T0
    assert flow.current_question(BANK, step.state) == BANK.questions[1]


def test_answering_last_question_completes_assessment():
    state = asking_at(len(BANK) - 1)
    done_at = T0 + timedelta(hours=1)

    step = flow.answer(BANK, state, IDS[-1], 4, done_at)

    assert step.outcome is Outcome.COMPLETED
    assert step.state.status is Status.COMPLETE
    assert not step.state.in_progress
    assert step.state.completed_at == done_at
    assert set(step.state.answers) == set(IDS)
    assert step.state.answers[IDS[-1]] == 4
    assert flow.current_question(BANK, step.state) is None


def test_answers_can_be_not_applicable_where_allowed():
    state = asking_at(IDS.index(NA_ALLOWED))

    step = flow.answer(BANK, state, NA_ALLOWED, None, T0 + timedelta(hours=1))

    assert step.outcome in (Outcome.ACCEPTED, Outcome.COMPLETED)
    assert NA_ALLOWED in step.state.answers
    assert step.state.answers[NA_ALLOWED] is None


def test_not_applicable_where_not_allowed_is_an_invalid_answer():
    state = asking_at(IDS.index(NA_REFUSED))

    with pytest.raises(InvalidAnswer, match="no 'not applicable' answer"):
        flow.answer(BANK, state, NA_REFUSED, None, T0)


@pytest.mark.parametrize("level", [0, 5, 7, -1])
def test_a_level_outside_one_to_four_is_an_invalid_answer(level):
    with pytest.raises(InvalidAnswer, match="level must be 1-4"):
        flow.answer(BANK, flow.start(BANK, T0), IDS[0], level, T0)


def test_an_unknown_question_is_an_invalid_answer():
    with pytest.raises(InvalidAnswer, match="unknown question"):
        flow.answer(BANK, flow.start(BANK, T0), "data.nothing", 1, T0)


@pytest.mark.parametrize("question_index", [0, 1, 3, 4])
def test_an_answer_to_a_question_that_is_not_the_current_one_is_stale_and_changes_nothing(question_index):
    state = asking_at(2)

    step = flow.answer(BANK, state, IDS[question_index], 4, T0 + timedelta(hours=1))

    assert step.outcome is Outcome.STALE
    assert not step.changed
    assert step.state == state


def test_the_same_answer_again_is_a_duplicate_and_changes_nothing():
    state = flow.start(BANK, T0)
    first = flow.answer(BANK, state, IDS[0], 3, T0 + MINUTE).state

    again = flow.answer(BANK, first, IDS[0], 3, T0 + 2 * MINUTE)

    assert again.outcome is Outcome.DUPLICATE
    assert not again.changed
    assert again.state == first
    assert again.state.version == first.version


def test_a_different_answer_to_an_already_answered_question_is_stale():
    first = flow.answer(BANK, flow.start(BANK, T0), IDS[0], 3, T0 + MINUTE).state

    step = flow.answer(BANK, first, IDS[0], 1, T0 + 2 * MINUTE)

    assert step.outcome is Outcome.STALE
    assert step.state == first
    assert first.answers[IDS[0]] == 3


def test_back_returns_to_the_previous_question_keeping_its_answer():
    state = asking_at(3)

    step = flow.back(BANK, state, IDS[3], T0 + timedelta(hours=1))

    assert step.outcome is Outcome.MOVED_BACK
    assert step.changed
    assert step.state.position == 2
    assert step.state.answers == state.answers
    assert step.state.version == state.version + 1
    assert flow.current_question(BANK, step.state) == BANK.questions[2]


def test_a_new_answer_after_back_overwrites_the_earlier_one_and_moves_on():
    state = asking_at(3, level=2)
    back = flow.back(BANK, state, IDS[3], T0 + timedelta(hours=1)).state

    step = flow.answer(BANK, back, IDS[2], 4, T0 + timedelta(hours=2))

    assert step.outcome is Outcome.ACCEPTED
    assert step.state.position == 3
    assert step.state.answers[IDS[2]] == 4
    assert len(step.state.answers) == 3


def test_the_same_answer_after_back_is_accepted_and_moves_on():
    state = asking_at(3, level=2)
    back = flow.back(BANK, state, IDS[3], T0 + timedelta(hours=1)).state

    step = flow.answer(BANK, back, IDS[2], 2, T0 + timedelta(hours=2))

    assert step.outcome is Outcome.ACCEPTED
    assert step.state.position == 3


def test_back_on_the_first_question_does_nothing():
    state = flow.start(BANK, T0)

    step = flow.back(BANK, state, IDS[0], T0 + MINUTE)

    assert not step.changed
    assert step.state == state


def test_back_from_a_question_that_is_not_the_current_one_does_nothing():
    state = asking_at(3)

    step = flow.back(BANK, state, IDS[1], T0 + timedelta(hours=1))

    assert step.outcome is Outcome.STALE
    assert step.state == state


def test_answers_and_back_after_completion_are_closed():
    done = flow.answer(BANK, asking_at(len(BANK) - 1), IDS[-1], 1, T0 + timedelta(hours=1)).state

    for step in (
        flow.answer(BANK, done, IDS[-1], 1, T0 + timedelta(hours=2)),
        flow.answer(BANK, done, IDS[0], 4, T0 + timedelta(hours=2)),
        flow.back(BANK, done, IDS[-1], T0 + timedelta(hours=2)),
    ):
        assert step.outcome is Outcome.CLOSED
        assert step.state == done


def test_abandon_closes_an_assessment_in_progress():
    state = asking_at(2)
    later = T0 + timedelta(days=1)

    abandoned = flow.abandon(state, later)

    assert abandoned.status is Status.ABANDONED
    assert not abandoned.in_progress
    assert abandoned.version == state.version + 1
    assert abandoned.updated_at == later
    assert abandoned.answers == state.answers
    assert flow.answer(BANK, abandoned, IDS[2], 1, later).outcome is Outcome.CLOSED


def test_abandon_leaves_a_closed_assessment_alone():
    done = flow.answer(BANK, asking_at(len(BANK) - 1), IDS[-1], 1, T0 + timedelta(hours=1)).state

    assert flow.abandon(done, T0 + timedelta(days=1)) == done


def test_an_assessment_idle_for_thirty_days_expires():
    state = asking_at(2)
    last_touch = state.updated_at
    assert last_touch is not None

    assert not flow.is_expired(state, last_touch + flow.DEFAULT_EXPIRY)
    assert flow.expire(state, last_touch + flow.DEFAULT_EXPIRY) == state

    later = last_touch + flow.DEFAULT_EXPIRY + timedelta(seconds=1)
    assert flow.is_expired(state, later)
    expired = flow.expire(state, later)
    assert expired.status is Status.EXPIRED
    assert expired.version == state.version + 1
    assert expired.answers == state.answers
    assert flow.answer(BANK, expired, IDS[2], 1, later).outcome is Outcome.CLOSED


def test_idle_time_counts_from_the_last_answer_not_the_start():
    state = asking_at(1)
    resumed = flow.answer(BANK, state, IDS[1], 2, T0 + timedelta(days=20)).state

    assert flow.is_expired(state, T0 + timedelta(days=31))
    assert not flow.is_expired(resumed, T0 + timedelta(days=31))


def test_a_custom_idle_limit_is_honoured():
    state = flow.start(BANK, T0)

    assert flow.is_expired(state, T0 + timedelta(hours=2), max_idle=timedelta(hours=1))
    assert flow.expire(state, T0 + timedelta(hours=2), max_idle=timedelta(hours=1)).status is Status.EXPIRED


def test_a_completed_assessment_never_expires():
    done = flow.answer(BANK, asking_at(len(BANK) - 1), IDS[-1], 1, T0 + timedelta(hours=1)).state

    assert not flow.is_expired(done, T0 + timedelta(days=400))
    assert flow.expire(done, T0 + timedelta(days=400)) == done


def test_version_increments_only_when_the_state_changes():
    state = flow.start(BANK, T0)
    versions = [state.version]
    events = [
        lambda s: flow.answer(BANK, s, IDS[0], 2, T0 + MINUTE),  # accepted
        lambda s: flow.answer(BANK, s, IDS[0], 2, T0 + MINUTE),  # duplicate
        lambda s: flow.answer(BANK, s, IDS[3], 2, T0 + MINUTE),  # stale
        lambda s: flow.back(BANK, s, IDS[0], T0 + MINUTE),  # stale back
        lambda s: flow.back(BANK, s, IDS[1], T0 + MINUTE),  # moved back
        lambda s: flow.back(BANK, s, IDS[0], T0 + MINUTE),  # back on the first question
        lambda s: flow.answer(BANK, s, IDS[0], 3, T0 + MINUTE),  # accepted
    ]
    changes = 0
    for event in events:
        step = event(state)
        changes += step.changed
        state = step.state
        versions.append(state.version)

    assert changes == 3
    assert versions == [1, 2, 2, 2, 2, 3, 3, 4]


def test_a_full_run_records_every_answer_in_order():
    state = flow.start(BANK, T0)
    outcomes = []
    for i, question in enumerate(BANK):
        step = flow.answer(BANK, state, question.id, (i % 4) + 1, T0 + i * MINUTE)
        outcomes.append(step.outcome)
        state = step.state

    assert outcomes == [Outcome.ACCEPTED] * (len(BANK) - 1) + [Outcome.COMPLETED]
    assert dict(state.answers) == {q.id: (i % 4) + 1 for i, q in enumerate(BANK)}
    assert state.version == 1 + len(BANK)


def test_transitions_do_not_modify_the_state_they_were_given():
    state = asking_at(2)
    snapshot = (state.status, state.position, dict(state.answers), state.version)

    flow.answer(BANK, state, IDS[2], 4, T0 + timedelta(hours=1))
    flow.back(BANK, state, IDS[2], T0 + timedelta(hours=1))
    flow.abandon(state, T0 + timedelta(hours=1))

    assert (state.status, state.position, dict(state.answers), state.version) == snapshot
    with pytest.raises(TypeError):
        state.answers[IDS[0]] = 4  # type: ignore[index]
