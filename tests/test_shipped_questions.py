"""The shipped questions.json: valid, and shaped the way the assessment promises."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner
from conftest import SHIPPED_BANK

from bot.cli.main import main
from bot.domain.questionnaire import load_questionnaire

DOC = json.loads(SHIPPED_BANK.read_text(encoding="utf-8"))
BANK = load_questionnaire(SHIPPED_BANK)
REQUIRED_DIMENSIONS = {
    "Data & Experimentation Management",
    "Model Deployment & Integration",
    "Monitoring & Governance",
    "Team Collaboration & Culture",
}


def test_compass_questions_check_passes_on_the_shipped_bank():
    result = CliRunner().invoke(main, ["questions", "check"], env={"COMPASS_QUESTIONS": None})

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"OK: {SHIPPED_BANK} is valid: {len(BANK)} questions in {len(BANK.dimensions)} dimensions "
        f"(version {BANK.version}, hash {BANK.content_hash})\n"
    )


def test_the_bank_has_the_four_required_dimensions_and_at_most_one_more():
    names = {d.name for d in BANK.dimensions}

    assert names >= REQUIRED_DIMENSIONS
    assert len(names) in (4, 5)


def test_each_dimension_has_four_to_seven_questions_and_the_bank_eighteen_to_twenty_eight():
    per_dimension = Counter(q.dimension for q in BANK)

    assert set(per_dimension) == {d.id for d in BANK.dimensions}
    assert all(4 <= count <= 7 for count in per_dimension.values()), per_dimension
    assert 18 <= len(BANK) <= 28


def test_the_bank_has_a_version():
    assert isinstance(DOC["version"], str) and DOC["version"].strip()
    assert BANK.version == DOC["version"]


def test_ids_are_unique_across_questions_and_dimensions():
    ids = [q["id"] for q in DOC["questions"]] + [d["id"] for d in DOC["dimensions"]]

    assert len(ids) == len(set(ids))


def test_weights_tell_critical_practices_from_minor_ones():
    weights = {q.id: q.weight for q in BANK}

    assert len(set(weights.values())) > 1
    assert weights["deployment.rollback"] > weights["team.documentation"]


@pytest.mark.parametrize("question", BANK.questions, ids=lambda q: q.id)
def test_each_question_has_four_distinct_options_stating_facts(question):
    assert [o.level for o in question.options] == [1, 2, 3, 4]
    assert len({o.label for o in question.options}) == 4
    assert len({o.text for o in question.options}) == 4
    for option in question.options:
        # an observable statement, not a one-word adjective such as "good" or "mature"
        assert len(option.text.split()) >= 6, option.text


@pytest.mark.parametrize("question", BANK.questions, ids=lambda q: q.id)
def test_each_question_has_a_distinct_next_step_for_every_level(question):
    assert len(question.next_steps) == 4
    assert len(set(question.next_steps)) == 4


@pytest.mark.parametrize("dimension", BANK.dimensions, ids=lambda d: d.id)
def test_each_dimension_has_a_distinct_recommendation_for_every_level(dimension):
    assert len(dimension.recommendations) == 4
    assert len(set(dimension.recommendations)) == 4


@pytest.mark.parametrize("dimension", BANK.dimensions, ids=lambda d: d.id)
def test_each_dimension_always_gets_a_score_because_not_every_question_allows_not_applicable(dimension):
    assert any(not q.allow_na for q in BANK.questions_in(dimension.id))


def test_not_applicable_is_offered_only_where_it_makes_sense():
    allowing = [q.id for q in BANK if q.allow_na]

    assert allowing
    assert len(allowing) < len(BANK) / 2
