"""The say–do gap: answers held against measurements, a table of cases."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bot.domain.evidence import Evidence, Measurement
from bot.domain.measured import build_measured
from bot.domain.questionnaire import Questionnaire, parse_questionnaire
from bot.domain.say_do import Verdict, classify, gap_by_dimension, gap_json, verdicts

SMALL = json.loads((Path(__file__).resolve().parents[1] / "data" / "questions_small.json").read_text())
FREQUENCY = {"on-demand": 4, "daily": [3, 4], "weekly": [2, 3], "monthly": 2, "fewer": 1}
RESTORE = {
    "under an hour": 4,
    "under a day": [3, 4],
    "under a week": [2, 3],
    "under a month": 2,
    "under six months": [1, 2],
    "six months or more": 1,
}
DAILY = Measurement("deployment_frequency", "20 production deployments, 1.6 a week (daily)", "daily")


def evidence(low: int, high: int) -> Evidence:
    return Evidence("C1", 90, (DAILY,), low, high)


@pytest.mark.parametrize(
    ("said", "low", "high", "expected"),
    [
        (3, 3, 4, Verdict.CONFIRMED),  # inside the range
        (4, 3, 4, Verdict.CONFIRMED),
        (2, 3, 4, Verdict.CONFIRMED),  # one level below: within the method's noise
        (1, 3, 4, Verdict.CONTRADICTED),  # two below
        (4, 1, 2, Verdict.CONTRADICTED),  # two above
        (3, 1, 2, Verdict.CONFIRMED),  # one above
        (1.9, 3, 4, Verdict.CONTRADICTED),  # a team's mean: more than a level below L3
        (2.0, 3, 4, Verdict.CONFIRMED),  # exactly a level below
        (3.5, 1, 2, Verdict.CONTRADICTED),
        (4, 4, 4, Verdict.CONFIRMED),
        (2, 4, 4, Verdict.CONTRADICTED),
    ],
)
def test_an_answer_against_the_levels_measured(said: float, low: int, high: int, expected: Verdict) -> None:
    assert classify(said, evidence(low, high)) is expected


def test_no_data_is_unverifiable_and_not_applicable_claims_nothing() -> None:
    assert classify(3, None) is Verdict.UNVERIFIABLE
    assert classify(None, evidence(3, 4)) is None
    assert classify(None, None) is None


def bank() -> Questionnaire:
    doc = copy.deepcopy(SMALL)
    by_id = {q["id"]: q for q in doc["questions"]}
    by_id["data.validation"]["evidence"] = [{"metric": "deployment_frequency", "levels": FREQUENCY}]
    by_id["ops.rollback"]["evidence"] = [{"metric": "deployment_frequency", "levels": FREQUENCY}]
    by_id["ops.abtest"]["evidence"] = [{"metric": "deployment_frequency", "levels": FREQUENCY}]
    by_id["ops.monitoring"]["evidence"] = [{"metric": "time_to_restore", "levels": RESTORE}]
    return parse_questionnaire(doc)


def test_verdicts_per_question_grouped_per_dimension_in_the_banks_order() -> None:
    measured = {"deployment_frequency": DAILY}
    answers = {
        "data.versioning": 1,  # cites nothing: left out
        "data.validation": 1.0,  # contradicted
        "ops.rollback": 4.0,  # confirmed
        "ops.abtest": None,  # not applicable: left out
        "ops.monitoring": 3.0,  # time to restore not measured: unverifiable
    }
    found = verdicts(bank(), answers, measured, "C1", 90)
    assert [(v.question_id, v.verdict) for v in found] == [
        ("data.validation", Verdict.CONTRADICTED),
        ("ops.rollback", Verdict.CONFIRMED),
        ("ops.monitoring", Verdict.UNVERIFIABLE),
    ]
    gaps = gap_by_dimension(bank(), found)
    assert [(g.dimension_id, len(g.confirmed), len(g.contradicted), len(g.unverifiable)) for g in gaps] == [
        ("data", 0, 1, 0),
        ("ops", 1, 0, 1),
    ]
    assert gaps[1].checked == 1
    assert gap_json(gaps) == {
        "data": {"confirmed": 0, "contradicted": ["data.validation"], "unverifiable": 0},
        "ops": {"confirmed": 1, "contradicted": [], "unverifiable": 1},
    }


def test_unanswered_questions_say_nothing() -> None:
    assert verdicts(bank(), {}, {"deployment_frequency": DAILY}, "C1", 90) == ()


def test_the_digests_section_carries_the_gap_only_with_the_teams_means() -> None:
    measured = {"deployment_frequency": DAILY}
    below = build_measured(bank(), measured, "C1", 90)
    assert below is not None and below.gap == () and below.disagreements == ()
    above = build_measured(bank(), measured, "C1", 90, {"data.validation": 1.4, "ops.rollback": 2.6})
    assert above is not None
    assert [g.dimension_id for g in above.gap] == ["data", "ops"]
    assert [(d.question_id, d.self_assessed) for d in above.disagreements] == [("data.validation", 1)]
    # a mean of 2.6 reads as L3 in the report's words
    assert above.gap[1].confirmed[0].said_level == 3
