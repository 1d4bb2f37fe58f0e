"""Question bank validation: every mistake is reported with its JSON path, all in one pass."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.questionnaire import QuestionnaireError, content_hash, load_questionnaire, parse_questionnaire

SMALL_BANK = Path(__file__).resolve().parents[1] / "data" / "questions_small.json"
SMALL = json.loads(SMALL_BANK.read_text(encoding="utf-8"))


def small() -> dict[str, Any]:
    """A fresh, mutable copy of the small bank document."""
    return copy.deepcopy(SMALL)


def problems(data: Any) -> list[tuple[str, str]]:
    """The (path, message) pairs the validator reports for ``data``."""
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data)
    return [(p.path, p.message) for p in caught.value.problems]


def paths(data: Any) -> list[str]:
    return [path for path, _ in problems(data)]


def test_small_bank_parses_into_questions_in_file_order():
    bank = parse_questionnaire(small())

    assert [q.id for q in bank] == [q["id"] for q in SMALL["questions"]]
    assert [d.id for d in bank.dimensions] == [d["id"] for d in SMALL["dimensions"]]
    assert bank.version == SMALL["version"]
    for raw, question in zip(SMALL["questions"], bank, strict=True):
        assert question.weight == raw["weight"]
        assert question.allow_na is raw["allow_na"]
        assert [o.level for o in question.options] == [1, 2, 3, 4]
        assert question.next_step(2) == raw["next_steps"]["2"]
    assert bank.index_of(SMALL["questions"][3]["id"]) == 3
    assert [q.id for q in bank.questions_in("data")] == [
        q["id"] for q in SMALL["questions"] if q["dimension"] == "data"
    ]


def test_content_hash_ignores_key_order_but_not_content():
    reordered = {key: SMALL[key] for key in reversed(list(SMALL))}
    changed = small()
    changed["questions"][0]["weight"] = 2

    assert content_hash(reordered) == content_hash(SMALL)
    assert parse_questionnaire(reordered).content_hash == parse_questionnaire(small()).content_hash
    assert parse_questionnaire(changed).content_hash != parse_questionnaire(small()).content_hash


def test_missing_options_are_reported_at_the_question():
    data = small()
    del data["questions"][1]["options"]

    assert problems(data) == [("$.questions[1].options", "needs exactly 4 options (levels 1-4), found 0")]


@pytest.mark.parametrize("count", [0, 3, 5])
def test_a_question_without_exactly_four_options_is_reported(count):
    data = small()
    options = data["questions"][2]["options"]
    data["questions"][2]["options"] = (options * 2)[:count]

    assert problems(data) == [("$.questions[2].options", f"needs exactly 4 options (levels 1-4), found {count}")]


@pytest.mark.parametrize("weight", [0, -1, -0.5, 4, 5, 2.5, 0.1, float("nan"), float("inf")])
def test_a_question_weight_that_is_not_a_whole_number_from_one_to_three_is_reported(weight):
    data = small()
    data["questions"][3]["weight"] = weight

    assert problems(data) == [("$.questions[3].weight", f"must be a whole number from 1 to 3, got {weight}")]


@pytest.mark.parametrize("weight", [0, 4, 1.5])
def test_a_dimension_weight_outside_one_to_three_is_reported(weight):
    data = small()
    data["dimensions"][1]["weight"] = weight

    assert problems(data) == [("$.dimensions[1].weight", f"must be a whole number from 1 to 3, got {weight}")]


@pytest.mark.parametrize("weight", [1, 2, 3, 2.0])
def test_whole_weights_from_one_to_three_are_accepted(weight):
    data = small()
    data["questions"][0]["weight"] = weight
    data["dimensions"][0]["weight"] = weight

    bank = parse_questionnaire(data)

    assert bank.questions[0].weight == bank.dimensions[0].weight == weight


def test_a_dimension_without_a_weight_weighs_one():
    data = small()
    del data["dimensions"][0]["weight"]

    assert parse_questionnaire(data).dimensions[0].weight == 1


@pytest.mark.parametrize("weight", ["3", True, None])
def test_a_weight_that_is_not_a_number_is_reported(weight):
    data = small()
    data["questions"][0]["weight"] = weight

    assert problems(data) == [("$.questions[0].weight", "missing or not a number")]


def test_a_weight_read_as_nan_from_the_file_is_reported(tmp_path):
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(small()).replace('"weight": 3', '"weight": NaN', 1), encoding="utf-8")

    with pytest.raises(QuestionnaireError, match=r"\$\.questions\[0\]\.weight: must be a whole number .* got nan"):
        load_questionnaire(path)


def test_a_duplicate_question_id_is_reported_at_the_second_occurrence():
    data = small()
    data["questions"][4]["id"] = data["questions"][2]["id"]

    assert problems(data) == [("$.questions[4].id", f"duplicate question id {data['questions'][2]['id']!r}")]


def test_a_duplicate_dimension_id_is_reported_at_the_second_occurrence():
    data = small()
    data["dimensions"].append(copy.deepcopy(data["dimensions"][0]))

    assert problems(data) == [("$.dimensions[2].id", "duplicate dimension id 'data'")]


@pytest.mark.parametrize("dimension", ["security", None, ["data"], {"id": "data"}])
def test_a_question_in_an_unknown_dimension_is_reported(dimension):
    data = small()
    data["questions"][1]["dimension"] = dimension

    assert problems(data) == [("$.questions[1].dimension", f"unknown dimension {dimension!r}")]


@pytest.mark.parametrize("levels", [[2, 1, 3, 4], [1, 2, 2, 4], [0, 1, 2, 3], [4, 3, 2, 1]])
def test_option_levels_not_ascending_one_to_four_are_reported(levels):
    data = small()
    for option, level in zip(data["questions"][0]["options"], levels, strict=True):
        option["level"] = level

    assert problems(data) == [("$.questions[0].options", f"levels must ascend 1, 2, 3, 4 in order, found {levels}")]


def test_a_missing_option_level_is_reported_at_the_option():
    data = small()
    del data["questions"][0]["options"][2]["level"]

    assert paths(data) == ["$.questions[0].options[2].level"]


def test_a_missing_dimension_recommendation_level_is_reported():
    data = small()
    del data["dimensions"][0]["recommendations"]["3"]

    assert problems(data) == [("$.dimensions[0].recommendations", "missing text for level 3")]


def test_missing_dimension_recommendations_are_reported():
    data = small()
    del data["dimensions"][1]["recommendations"]

    assert paths(data) == ["$.dimensions[1].recommendations"]


def test_an_empty_recommendation_text_is_reported_at_its_level():
    data = small()
    data["dimensions"][1]["recommendations"]["4"] = "   "

    assert paths(data) == ["$.dimensions[1].recommendations.4"]


def test_a_missing_question_next_step_level_is_reported():
    data = small()
    del data["questions"][4]["next_steps"]["2"]

    assert problems(data) == [("$.questions[4].next_steps", "missing text for level 2")]


def test_an_unknown_next_step_level_is_reported():
    data = small()
    data["questions"][0]["next_steps"]["5"] = "beyond the scale"

    assert paths(data) == ["$.questions[0].next_steps"]


def test_a_dimension_without_questions_is_reported():
    data = small()
    data["dimensions"].append({**copy.deepcopy(data["dimensions"][0]), "id": "culture"})

    assert problems(data) == [("$.dimensions[2]", "dimension 'culture' has no questions")]


def test_a_malformed_id_is_reported():
    data = small()
    data["questions"][0]["id"] = "Data Versioning"

    assert paths(data) == ["$.questions[0].id"]


def test_a_too_long_option_label_is_reported():
    data = small()
    data["questions"][2]["options"][1]["label"] = "x" * 41

    assert problems(data) == [("$.questions[2].options[1].label", "too long: 41 characters, at most 40")]


@pytest.mark.parametrize("document", [[], "bank", None, 3])
def test_a_document_that_is_not_an_object_is_reported(document):
    assert paths(document) == ["$"]


def test_missing_version_dimensions_and_questions_are_all_reported():
    assert paths({}) == ["$.version", "$.dimensions", "$.questions"]


def test_several_problems_are_all_reported_in_one_run():
    data = small()
    del data["questions"][0]["options"]
    data["questions"][1]["weight"] = 0
    data["questions"][2]["dimension"] = "nowhere"
    data["questions"][3]["id"] = data["questions"][4]["id"]
    del data["dimensions"][1]["recommendations"]["1"]

    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data, source="broken.json")

    found = [p.path for p in caught.value.problems]
    assert sorted(found) == sorted(
        [
            "$.questions[0].options",
            "$.questions[1].weight",
            "$.questions[2].dimension",
            "$.questions[4].id",
            "$.dimensions[1].recommendations",
        ]
    )
    message = str(caught.value)
    assert message.startswith("broken.json is invalid (5 problem(s)):")
    for problem in caught.value.problems:
        assert f"  - {problem.path}: {problem.message}" in message


def test_invalid_json_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bank.json"
    path.write_text('{"version": "1",\n "dimensions": [,]}', encoding="utf-8")

    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire(path)

    assert [p.path for p in caught.value.problems] == ["$"]
    assert "not valid JSON" in caught.value.problems[0].message
    assert "line 2" in caught.value.problems[0].message
    assert str(path) in str(caught.value)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(QuestionnaireError, match="cannot read file"):
        load_questionnaire(tmp_path / "absent.json")


def test_a_valid_file_loads_with_its_path_free_hash(tmp_path):
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(SMALL, indent=4), encoding="utf-8")

    assert load_questionnaire(path).content_hash == parse_questionnaire(small()).content_hash
