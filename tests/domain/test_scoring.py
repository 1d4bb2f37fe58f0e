"""Scoring: weighted means per dimension, half-open level bands, and the recommendation they lead to.

Expected scores are recomputed here straight from the bank documents (their raw JSON
weights), independently of the parser and the scoring module.
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.domain.levels import LEVEL_NAMES, level_for, level_name
from bot.domain.questionnaire import parse_questionnaire
from bot.domain.scoring import score_answers

TESTS = Path(__file__).resolve().parents[1]
SMALL = json.loads((TESTS / "data" / "questions_small.json").read_text(encoding="utf-8"))
SHIPPED = json.loads((TESTS.parent / "questions.json").read_text(encoding="utf-8"))
DOCUMENTS = {"small": SMALL, "shipped": SHIPPED}
BANKS = {name: parse_questionnaire(doc) for name, doc in DOCUMENTS.items()}
SMALL_BANK = BANKS["small"]
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)

Answers = dict[str, int | None]


# --- an independent oracle, computed from the raw documents -------------------------------


def weight_of(item: dict[str, Any]) -> Fraction:
    return Fraction(str(item.get("weight", 1)))


def expected_dimension_score(doc: dict[str, Any], dimension: str, answers: Answers) -> Fraction | None:
    """sum(weight x level) / sum(weight) over the dimension's answered questions, N/A left out."""
    pairs = [
        (weight_of(q), answers[q["id"]])
        for q in doc["questions"]
        if q["dimension"] == dimension and answers.get(q["id"]) is not None
    ]
    if not pairs:
        return None
    return sum((w * level for w, level in pairs), Fraction(0)) / sum(w for w, _ in pairs)


def expected_overall(doc: dict[str, Any], answers: Answers) -> Fraction | None:
    pairs = [
        (weight_of(d), score)
        for d in doc["dimensions"]
        if (score := expected_dimension_score(doc, d["id"], answers)) is not None
    ]
    if not pairs:
        return None
    return sum((w * s for w, s in pairs), Fraction(0)) / sum(w for w, _ in pairs)


def expected_level(score: Fraction) -> int:
    """Bands written out the long way: [1, 1.5) -> 1, [1.5, 2.5) -> 2, [2.5, 3.5) -> 3, [3.5, 4] -> 4."""
    if score < Fraction(3, 2):
        return 1
    if score < Fraction(5, 2):
        return 2
    if score < Fraction(7, 2):
        return 3
    return 4


def question_doc(doc: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next(q for q in doc["questions"] if q["id"] == question_id)


def all_at(doc: dict[str, Any], level: int) -> Answers:
    return {q["id"]: level for q in doc["questions"]}


def with_answers(**levels: int | None) -> Answers:
    """Small-bank answers written with underscores for dots: data_versioning=2."""
    return {key.replace("_", ".", 1): value for key, value in levels.items()}


def answer_strategy(doc: dict[str, Any]) -> st.SearchStrategy[Answers]:
    return st.fixed_dictionaries(
        {q["id"]: st.sampled_from([1, 2, 3, 4, None] if q.get("allow_na") else [1, 2, 3, 4]) for q in doc["questions"]}
    )


# --- level bands --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "score",
    [1, 1.25, 1.4999, 1.5, 2, 2.4999, 2.5, 3, 3.4999, 3.5, 3.9999, 4],
)
def test_levels_follow_half_open_bands(score):
    assert level_for(score) == expected_level(Fraction(str(score)))


def test_band_edges_belong_to_the_upper_level():
    assert level_for(Fraction(3, 2)) == 2
    assert level_for(Fraction(5, 2)) == 3  # round(2.5) would give 2
    assert level_for(2.5) == 3
    assert level_for(Fraction(7, 2)) == 4
    assert level_for(1.4999) == 1


@pytest.mark.parametrize("score", [0, 0.9999, 4.0001, 5])
def test_a_score_outside_the_scale_is_rejected(score):
    with pytest.raises(ValueError, match="outside the 1-4 scale"):
        level_for(score)


def test_every_level_has_its_documented_name():
    assert [level_name(level) for level in (1, 2, 3, 4)] == [
        "Ad-hoc/Manual",
        "Repeatable/Automated",
        "Managed/Standardized",
        "Optimized/Autonomous",
    ]
    assert set(LEVEL_NAMES) == {1, 2, 3, 4}


# --- weighted means -----------------------------------------------------------------------


def test_dimension_score_is_the_weighted_mean_of_its_answers():
    answers = with_answers(data_versioning=2, data_validation=4, ops_rollback=1, ops_abtest=3, ops_monitoring=4)

    score = score_answers(SMALL_BANK, answers)

    for dimension in ("data", "ops"):
        expected = expected_dimension_score(SMALL, dimension, answers)
        assert score.dimension(dimension).score == expected
        assert score.dimension(dimension).level == expected_level(expected)
    assert score.overall == expected_overall(SMALL, answers)


def test_a_weighted_mean_exactly_on_a_band_edge_takes_the_upper_level():
    # data: versioning weighs 3, validation 1 -> (3x2 + 1x4) / 4 = 2.5
    answers = with_answers(data_versioning=2, data_validation=4, ops_rollback=1, ops_abtest=2, ops_monitoring=2)
    edges = {"data": Fraction(5, 2), "ops": Fraction(3, 2)}

    score = score_answers(SMALL_BANK, answers)

    for dimension, edge in edges.items():
        assert expected_dimension_score(SMALL, dimension, answers) == edge
        assert score.dimension(dimension).score == edge
        assert score.dimension(dimension).level == expected_level(edge)


def test_a_dimension_score_at_three_and_a_half_is_level_four():
    answers = with_answers(data_versioning=1, data_validation=1, ops_rollback=4, ops_abtest=3, ops_monitoring=3)

    score = score_answers(SMALL_BANK, answers)

    assert score.dimension("ops").score == expected_dimension_score(SMALL, "ops", answers) == Fraction(7, 2)
    assert score.dimension("ops").level == 4


def test_not_applicable_is_left_out_of_numerator_and_denominator():
    answers = with_answers(data_versioning=3, data_validation=3, ops_rollback=2, ops_abtest=None, ops_monitoring=4)
    answered_only = {k: v for k, v in answers.items() if v is not None}

    score = score_answers(SMALL_BANK, answers)

    assert score.dimension("ops").score == expected_dimension_score(SMALL, "ops", answered_only)
    assert score.dimension("ops").answered == 2
    assert score.dimension("ops").not_applicable == 1
    assert score.answered == 4
    assert score.not_applicable == 1
    assert score.total == len(SMALL["questions"])


def test_overall_is_the_weighted_mean_over_dimensions():
    doc = copy.deepcopy(SMALL)
    doc["dimensions"][1]["weight"] = 3
    bank = parse_questionnaire(doc)
    answers = with_answers(data_versioning=4, data_validation=4, ops_rollback=1, ops_abtest=2, ops_monitoring=1)

    equal = score_answers(SMALL_BANK, answers)
    weighted = score_answers(bank, answers)

    assert equal.overall == expected_overall(SMALL, answers)
    assert weighted.overall == expected_overall(doc, answers)
    assert weighted.overall < equal.overall  # the weaker ops dimension now counts three times
    assert weighted.level == expected_level(weighted.overall)


def test_a_dimension_with_nothing_answered_has_no_score_and_is_left_out_of_overall():
    answers = with_answers(data_versioning=1, data_validation=2)

    score = score_answers(SMALL_BANK, answers)

    assert score.dimension("ops").score is None
    assert score.dimension("ops").level is None
    assert score.overall == score.dimension("data").score == expected_dimension_score(SMALL, "data", answers)
    assert score.answered == 2


def test_no_answers_give_no_score_and_no_recommendation():
    score = score_answers(SMALL_BANK, {})

    assert score.overall is None
    assert score.level is None
    assert score.level_name is None
    assert score.top is None
    assert score.further_steps == ()


@pytest.mark.parametrize("level", [1, 4])
def test_uniform_answers_score_that_level_everywhere(level):
    for name, doc in DOCUMENTS.items():
        score = score_answers(BANKS[name], all_at(doc, level))

        assert score.overall == level
        assert score.level == level
        assert score.level_name == LEVEL_NAMES[level]
        assert {d.level for d in score.dimensions} == {level}
        assert score.answered == len(doc["questions"])


def test_an_answer_to_an_unknown_question_is_rejected():
    with pytest.raises(ValueError, match="unknown question 'data.lineage'"):
        score_answers(SMALL_BANK, {"data.lineage": 2})


@pytest.mark.parametrize("level", [0, 5, 7, "3"])
def test_an_answer_outside_the_levels_is_rejected(level):
    with pytest.raises(ValueError, match="must be a level 1-4"):
        score_answers(SMALL_BANK, {"data.versioning": level})


# --- the recommendation -------------------------------------------------------------------


def test_top_recommendation_names_the_weakest_dimension_and_its_lowest_practice():
    answers = with_answers(data_versioning=3, data_validation=3, ops_rollback=2, ops_abtest=3, ops_monitoring=1)

    score = score_answers(SMALL_BANK, answers)

    weakest = min(("data", "ops"), key=lambda d: expected_dimension_score(SMALL, d, answers))
    assert weakest == "ops"
    level = expected_level(expected_dimension_score(SMALL, "ops", answers))
    assert score.top is not None
    assert score.top.dimension_id == "ops"
    assert score.top.dimension_level == level
    assert score.top.advice == SMALL["dimensions"][1]["recommendations"][str(level)]
    # monitoring weighs least, but its level 1 is the lowest answer in ops
    assert score.top.step.question_id == "ops.monitoring"
    assert score.top.step.level == 1
    assert score.top.step.text == question_doc(SMALL, "ops.monitoring")["next_steps"]["1"]


def test_within_the_weakest_dimension_the_heavier_of_equally_low_practices_comes_first():
    answers = with_answers(data_versioning=4, data_validation=4, ops_rollback=2, ops_abtest=1, ops_monitoring=1)

    score = score_answers(SMALL_BANK, answers)

    # abtest (weight 2) and monitoring (weight 1) are both at level 1
    assert question_doc(SMALL, "ops.abtest")["weight"] > question_doc(SMALL, "ops.monitoring")["weight"]
    assert score.top is not None
    assert score.top.step.question_id == "ops.abtest"
    assert score.top.step.text == question_doc(SMALL, "ops.abtest")["next_steps"]["1"]


def test_a_tie_for_weakest_dimension_goes_to_the_one_with_more_total_weight():
    answers = all_at(SMALL, 2)
    heavier_data = copy.deepcopy(SMALL)  # weights are 1-3: lighten ops below data's 3 + 1
    question_doc(heavier_data, "ops.rollback")["weight"] = 1
    question_doc(heavier_data, "ops.abtest")["weight"] = 1

    def total(doc: dict[str, Any], dimension: str) -> Fraction:
        return sum((weight_of(q) for q in doc["questions"] if q["dimension"] == dimension), Fraction(0))

    for doc in (SMALL, heavier_data):
        score = score_answers(parse_questionnaire(doc), answers)
        assert score.dimension("data").score == score.dimension("ops").score
        heaviest = max(("data", "ops"), key=lambda d: total(doc, d))
        assert score.top is not None
        assert score.top.dimension_id == heaviest
    assert total(SMALL, "ops") > total(SMALL, "data")
    assert total(heavier_data, "data") > total(heavier_data, "ops")


def test_further_steps_are_two_or_three_other_practices_with_the_step_for_their_level():
    answers = with_answers(data_versioning=2, data_validation=1, ops_rollback=1, ops_abtest=3, ops_monitoring=2)

    score = score_answers(SMALL_BANK, answers)

    assert score.top is not None
    assert 2 <= len(score.further_steps) <= 3
    ids = [s.question_id for s in score.further_steps]
    assert score.top.step.question_id not in ids
    assert len(set(ids)) == len(ids)
    for step in score.further_steps:
        assert step.level == answers[step.question_id]
        assert step.text == question_doc(SMALL, step.question_id)["next_steps"][str(step.level)]
    # the other dimension is represented before a second step from the same one
    assert score.further_steps and {s.dimension_id for s in score.further_steps} == {"data", "ops"}


def test_further_steps_skip_practices_already_at_the_top_level():
    answers = with_answers(data_versioning=4, data_validation=4, ops_rollback=1, ops_abtest=4, ops_monitoring=2)

    score = score_answers(SMALL_BANK, answers)

    assert score.top is not None
    assert score.top.step.question_id == "ops.rollback"
    assert [s.question_id for s in score.further_steps] == ["ops.monitoring"]


def test_further_steps_on_the_shipped_bank_cover_several_dimensions():
    score = score_answers(BANKS["shipped"], all_at(SHIPPED, 1))

    assert score.top is not None
    assert 2 <= len(score.further_steps) <= 3
    dimensions = {s.dimension_id for s in score.further_steps} | {score.top.dimension_id}
    assert len(dimensions) == 1 + len(score.further_steps)


def test_further_steps_are_ordered_by_level_lowest_first_across_dimensions():
    """A same-dimension filler answered lower must come before an other-dimension step answered higher."""
    answers = with_answers(data_versioning=3, data_validation=4, ops_rollback=1, ops_abtest=1, ops_monitoring=2)

    score = score_answers(SMALL_BANK, answers)

    assert score.top is not None
    assert score.top.step.question_id == "ops.rollback"
    # data.versioning is picked first (the only other dimension), the ops steps fill the rest,
    # yet the list reads lowest level first: abtest 1, monitoring 2, versioning 3
    assert [(s.question_id, s.level) for s in score.further_steps] == [
        ("ops.abtest", 1),
        ("ops.monitoring", 2),
        ("data.versioning", 3),
    ]


def test_further_steps_are_ordered_by_weight_heaviest_first_among_equal_levels():
    """Of two further steps at the same level the heavier practice is listed first, whatever dimension it is in."""
    answers = with_answers(data_versioning=4, data_validation=2, ops_rollback=1, ops_abtest=2, ops_monitoring=4)

    score = score_answers(SMALL_BANK, answers)

    assert score.top is not None
    assert score.top.step.question_id == "ops.rollback"
    # both at level 2; abtest (weight 2) outweighs validation (weight 1), though validation
    # was picked first for coming from another dimension
    assert question_doc(SMALL, "ops.abtest")["weight"] > question_doc(SMALL, "data.validation")["weight"]
    assert [(s.question_id, s.level) for s in score.further_steps] == [
        ("ops.abtest", 2),
        ("data.validation", 2),
    ]


# --- properties over the shipped and the small bank ---------------------------------------


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_scores_are_the_weighted_means_and_stay_between_one_and_four(name, data):
    doc, bank = DOCUMENTS[name], BANKS[name]
    answers = data.draw(answer_strategy(doc))

    score = score_answers(bank, answers)

    for d in score.dimensions:
        assert d.score == expected_dimension_score(doc, d.dimension_id, answers)
        if d.score is not None:
            assert 1 <= d.score <= 4
            assert d.level == expected_level(d.score)
    assert score.overall == expected_overall(doc, answers)
    if score.overall is not None:
        assert 1 <= score.overall <= 4
    assert score.answered == sum(1 for v in answers.values() if v is not None)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_raising_one_answer_never_lowers_any_score(name, data):
    doc, bank = DOCUMENTS[name], BANKS[name]
    answers = data.draw(answer_strategy(doc))
    raisable = [qid for qid, level in answers.items() if level is not None and level < 4]
    assume(raisable)
    question_id = data.draw(st.sampled_from(raisable))
    old_level = answers[question_id]
    assert old_level is not None
    raised = {**answers, question_id: data.draw(st.integers(old_level + 1, 4))}

    before = score_answers(bank, answers)
    after = score_answers(bank, raised)

    for old, new in zip(before.dimensions, after.dimensions, strict=True):
        if old.score is None:
            assert new.score is None
        else:
            assert new.score is not None and new.score >= old.score
    assert before.overall is not None and after.overall is not None
    assert after.overall >= before.overall
    dimension = bank.question(question_id).dimension
    assert after.dimension(dimension).score > before.dimension(dimension).score


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_switching_an_answer_to_not_applicable_drops_it_from_the_denominator_only(name, data):
    doc, bank = DOCUMENTS[name], BANKS[name]
    answers = data.draw(answer_strategy(doc))
    answered = [qid for qid, level in answers.items() if level is not None]
    assume(answered)
    question_id = data.draw(st.sampled_from(answered))
    dimension = bank.question(question_id).dimension
    switched = {**answers, question_id: None}

    before = score_answers(bank, answers)
    after = score_answers(bank, switched)

    for old, new in zip(before.dimensions, after.dimensions, strict=True):
        if old.dimension_id != dimension:
            assert new == old
    remaining = {qid: level for qid, level in switched.items() if qid != question_id}
    assert after.dimension(dimension).score == expected_dimension_score(doc, dimension, remaining)
    assert after.dimension(dimension).not_applicable == before.dimension(dimension).not_applicable + 1
    assert after.answered == before.answered - 1


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_heavier_weight_moves_the_dimension_score_toward_that_answer(name, data):
    doc = DOCUMENTS[name]
    answers = data.draw(answer_strategy(doc))
    # weights are whole numbers 1-3, so only a question below 3 can be made heavier
    answered = [qid for qid, level in answers.items() if level is not None and weight_of(question_doc(doc, qid)) < 3]
    assume(answered)
    question_id = data.draw(st.sampled_from(answered))
    heavier = copy.deepcopy(doc)
    target = question_doc(heavier, question_id)
    target["weight"] = data.draw(st.integers(min_value=int(weight_of(target)) + 1, max_value=3))
    dimension = target["dimension"]
    level = answers[question_id]
    assert level is not None

    old = score_answers(BANKS[name], answers).dimension(dimension).score
    new = score_answers(parse_questionnaire(heavier), answers).dimension(dimension).score

    assert old is not None and new is not None
    assert new == expected_dimension_score(heavier, dimension, answers)
    if old == level:
        assert new == level
    else:
        assert abs(new - level) < abs(old - level)
        assert (new - old > 0) == (level - old > 0)  # moved toward it, not past it
        assert min(old, level) <= new <= max(old, level)
