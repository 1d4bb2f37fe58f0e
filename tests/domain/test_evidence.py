"""Evidence rules in the question bank, and what measurements say about an answer."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.check_metrics import CHECK_PREFIX, VALUE_PREFIX
from bot.domain.evidence import METRIC_BANDS, EvidenceRule, Measurement, weigh
from bot.domain.questionnaire import QuestionnaireError, load_questionnaire, parse_questionnaire

SMALL = json.loads((Path(__file__).resolve().parents[1] / "data" / "questions_small.json").read_text())
FREQUENCY = {"on-demand": 4, "daily": [3, 4], "weekly": [2, 3], "monthly": 2, "fewer": 1}
FREQUENCY_SPANS = {"on-demand": (4, 4), "daily": (3, 4), "weekly": (2, 3), "monthly": (2, 2), "fewer": (1, 1)}


def bank_with(evidence: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SMALL)
    doc["questions"][0]["evidence"] = evidence
    return doc


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(doc)
    return [str(p) for p in caught.value.problems]


def test_a_question_names_metrics_and_the_level_each_band_supports() -> None:
    bank = parse_questionnaire(bank_with([{"metric": "deployment_frequency", "levels": FREQUENCY}]))
    assert bank.questions[0].evidence == (EvidenceRule("deployment_frequency", FREQUENCY_SPANS),)
    assert bank.questions[1].evidence == ()


def test_evidence_does_not_change_what_an_answer_means() -> None:
    plain = parse_questionnaire(copy.deepcopy(SMALL))
    cited = parse_questionnaire(bank_with([{"metric": "deployment_frequency", "levels": FREQUENCY}]))
    assert plain.questions[0].content_hash == cited.questions[0].content_hash


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ([], "$.questions[0].evidence: must be a non-empty list"),
        ([{"metric": "happiness", "levels": {}}], "$.questions[0].evidence[0].metric: unknown metric 'happiness'"),
        ([{"metric": "lead_time"}], "$.questions[0].evidence[0].levels: missing"),
        (
            [{"metric": "deployment_frequency", "levels": {**FREQUENCY, "hourly": 4}}],
            "$.questions[0].evidence[0].levels: unknown band(s) hourly",
        ),
        (
            [{"metric": "deployment_frequency", "levels": {k: v for k, v in FREQUENCY.items() if k != "fewer"}}],
            "$.questions[0].evidence[0].levels: no level for band(s) fewer",
        ),
        (
            [{"metric": "deployment_frequency", "levels": {**FREQUENCY, "daily": 5, "weekly": [3, 2]}}],
            "$.questions[0].evidence[0].levels: each band needs a level 1-4 or a range [low, high] (band(s) daily, "
            "weekly)",
        ),
    ],
)
def test_bad_evidence_is_reported_at_its_path(evidence: Any, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(bank_with(evidence))), problems(bank_with(evidence))


CHECK_RULE_PREFIXES = (CHECK_PREFIX, VALUE_PREFIX)  # tests/domain/test_check_evidence.py covers those


def test_the_shipped_bank_cites_every_metric_it_knows_and_maps_every_band() -> None:
    bank = load_questionnaire(Path(__file__).resolve().parents[2] / "questions.json")
    metric_rules = [rule for q in bank for rule in q.evidence if not rule.metric.startswith(CHECK_RULE_PREFIXES)]
    assert {rule.metric for rule in metric_rules} == set(METRIC_BANDS)  # every metric informs some question
    for rule in metric_rules:
        assert set(rule.levels) == set(METRIC_BANDS[rule.metric])


def test_the_measurements_fit_the_range_of_levels_their_bands_support() -> None:
    lead_spans = ((4, 4), (3, 4), (2, 3), (2, 2), (1, 2), (1, 1))
    rules = (
        EvidenceRule("deployment_frequency", FREQUENCY_SPANS),
        EvidenceRule("lead_time", dict(zip(METRIC_BANDS["lead_time"], lead_spans, strict=True))),
    )
    measured = {
        "deployment_frequency": Measurement("deployment_frequency", "41 production deployments (daily)", "daily"),
        "lead_time": Measurement("lead_time", "median lead time 6 h", "under a day"),
    }
    evidence = weigh(rules, measured, "C0TEAM", 90)
    assert evidence is not None and (evidence.low, evidence.high) == (3, 4)
    assert [m.phrase for m in evidence.measurements] == [
        "41 production deployments (daily)",
        "median lead time 6 h",
    ]
    assert evidence.agrees(3) and evidence.agrees(4) and not evidence.agrees(2) and evidence.agrees(None) is None
    assert evidence.differs_by_more_than_a_level(1) and not evidence.differs_by_more_than_a_level(2)


def test_no_measurement_of_a_cited_metric_means_no_evidence() -> None:
    rules = (EvidenceRule("deployment_frequency", FREQUENCY_SPANS),)
    other = {"lead_time": Measurement("lead_time", "median lead time 6 h", "under a day")}
    assert weigh(rules, other, "C0TEAM", 90) is None


def measured_daily_and_fast() -> dict[str, Measurement]:
    return {
        "deployment_frequency": Measurement("deployment_frequency", "41 production deployments (daily)", "daily"),
        "lead_time": Measurement("lead_time", "median lead time 6 h", "under a day"),
    }


def test_a_team_more_than_a_level_from_its_measurements_is_flagged_per_question() -> None:
    from bot.domain.measured import build_measured

    bank = load_questionnaire(Path(__file__).resolve().parents[2] / "questions.json")
    answers = {
        "deployment.automation": 1.4,  # measured 3-4: flagged
        "deployment.rollback": 1.0,  # its metrics were not measured: not flagged
        "data.versioning": 1.0,  # cites no metric
    }
    section = build_measured(bank, measured_daily_and_fast(), "C0TEAM", 90, answers)
    assert section is not None
    assert [(f.question_id, f.self_assessed, f.evidence.low, f.evidence.high) for f in section.disagreements] == [
        ("deployment.automation", 1, 3, 4)
    ]
    close = {"deployment.automation": 2.2}  # within a level of 3
    assert build_measured(bank, measured_daily_and_fast(), "C0TEAM", 90, close).disagreements == ()  # type: ignore[union-attr]
    below_threshold = build_measured(bank, measured_daily_and_fast(), "C0TEAM", 90, None)
    assert below_threshold is not None and below_threshold.disagreements == ()
    assert len(below_threshold.measurements) == 2
    assert build_measured(bank, {}, "C0TEAM", 90, answers) is None
