"""Checks in the question bank: the rule format, its validation at JSON paths (also by `compass
questions check`), the bands, and what a measured check says about a question."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.domain.check_evidence import check_measurements
from bot.domain.check_metrics import CheckBand, CheckFigures, ValueLevels, check_band
from bot.domain.delivery_metrics import DeliveryMetrics
from bot.domain.evidence import EvidenceRule, Measurement, weigh
from bot.domain.measured import build_measured, measurements
from bot.domain.questionnaire import QuestionnaireError, load_questionnaire, parse_questionnaire

ROOT = Path(__file__).resolve().parents[2]
SMALL = json.loads((ROOT / "tests" / "data" / "questions_small.json").read_text())
BANDS = {"passing": [3, 4], "flaky": [2, 3], "failing": 2, "few runs": [2, 3]}
SPANS = {"passing": (3, 4), "flaky": (2, 3), "failing": (2, 2), "few runs": (2, 3)}
COVERAGE = {"80": [3, 4], "60": 3, "0": 2}


def bank_with(evidence: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SMALL)
    doc["questions"][0]["evidence"] = evidence
    return doc


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(doc)
    return [str(p) for p in caught.value.problems]


# --- bands -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "passed", "band"),
    [
        (4, 4, CheckBand.FEW_RUNS),  # too few to tell a rate
        (5, 5, CheckBand.PASSING),
        (10, 9, CheckBand.PASSING),  # 90 % exactly
        (100, 89, CheckBand.FLAKY),
        (10, 5, CheckBand.FLAKY),  # 50 % exactly
        (10, 4, CheckBand.FAILING),
        (5, 0, CheckBand.FAILING),
    ],
)
def test_the_bands_of_a_pass_rate(runs: int, passed: int, band: CheckBand) -> None:
    assert check_band(runs, passed) is band


# --- the rule format -------------------------------------------------------------------------


def test_a_question_cites_a_check_by_band_and_by_value() -> None:
    bank = parse_questionnaire(
        bank_with([{"check": " Data validation ", "levels": BANDS}, {"check": "coverage", "value": COVERAGE}])
    )
    band_rule, value_rule = bank.questions[0].evidence
    assert band_rule == EvidenceRule("check:Data validation", SPANS)
    assert value_rule.metric == "check value:coverage"
    assert isinstance(value_rule.levels, ValueLevels)
    assert value_rule.levels == {"80": (3, 4), "60": (3, 3), "0": (2, 2)}
    assert (value_rule.levels["83.5"], value_rule.levels["80"], value_rule.levels["79.9"]) == ((3, 4), (3, 4), (3, 3))
    assert "-1" not in value_rule.levels and "abc" not in value_rule.levels  # under every threshold: no level


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ([{"check": "", "levels": BANDS}], "$.questions[0].evidence[0].check: must be the name of a check"),
        ([{"check": 3, "levels": BANDS}], "$.questions[0].evidence[0].check: must be the name of a check"),
        (
            [{"check": "x", "metric": "lead_time", "levels": BANDS}],
            '$.questions[0].evidence[0]: cites a "check" or a "metric", not both',
        ),
        ([{"check": "x"}], '$.questions[0].evidence[0]: needs "levels" (a level per band) or "value"'),
        ([{"check": "x", "levels": BANDS, "value": COVERAGE}], '$.questions[0].evidence[0]: needs "levels"'),
        ([{"check": "x", "levels": [3, 4]}], "$.questions[0].evidence[0].levels: must be an object giving a level"),
        (
            [{"check": "x", "levels": {k: v for k, v in BANDS.items() if k != "few runs"}}],
            "$.questions[0].evidence[0].levels: no level for band(s) few runs",
        ),
        (
            [{"check": "x", "levels": {**BANDS, "green": 4}}],
            "$.questions[0].evidence[0].levels: unknown band(s) green; use passing, flaky, failing, few runs",
        ),
        (
            [{"check": "x", "levels": {**BANDS, "flaky": 5, "failing": [3, 2]}}],
            "$.questions[0].evidence[0].levels: each band needs a level 1-4 or a range [low, high] (band(s) failing, "
            "flaky)",
        ),
        ([{"check": "x", "value": {}}], "$.questions[0].evidence[0].value: must be an object of thresholds"),
        ([{"check": "x", "value": [80, 4]}], "$.questions[0].evidence[0].value: must be an object of thresholds"),
        ([{"check": "x", "value": {"eighty": 4}}], "$.questions[0].evidence[0].value: 'eighty' is not a number"),
        ([{"check": "x", "value": {"nan": 4}}], "$.questions[0].evidence[0].value: 'nan' is not a number"),
        ([{"check": "x", "value": {"80": 0}}], "$.questions[0].evidence[0].value: threshold 80: needs a level 1-4"),
        (
            [{"metric": "lead_time", "levels": {}}, {"check": "x", "levels": BANDS}, {"check": "y"}],
            '$.questions[0].evidence[2]: needs "levels"',
        ),
    ],
)
def test_a_bad_check_rule_is_reported_at_its_path(evidence: Any, expected: str) -> None:
    found = problems(bank_with(evidence))
    assert any(p.startswith(expected) for p in found), found


def test_compass_questions_check_names_a_bad_check_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bank.json"
    bad.write_text(json.dumps(bank_with([{"check": "coverage", "value": {"eighty": 4}}])))
    result = CliRunner().invoke(main, ["questions", "check", str(bad)])
    assert result.exit_code != 0
    assert "$.questions[0].evidence[0].value: 'eighty' is not a number" in result.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bank_with([{"check": "coverage", "value": COVERAGE}])))
    ok = CliRunner().invoke(main, ["questions", "check", str(good)])
    assert ok.exit_code == 0 and ok.output.startswith("OK:"), ok.output


def test_the_shipped_bank_cites_the_checks() -> None:
    bank = load_questionnaire(ROOT / "questions.json")
    cited = {q.id: [r.metric for r in q.evidence if r.metric.startswith("check")] for q in bank}
    assert {q: c for q, c in cited.items() if c} == {
        "data.versioning": ["check:data version"],
        "data.validation": ["check:data validation"],
        "deployment.ci": ["check value:coverage"],
        "deployment.release_validation": ["check:model tests"],
        "responsible.fairness": ["check:fairness"],
    }


# --- measured checks as evidence -------------------------------------------------------------


def figures(name: str, runs: int, passed: int, value: float | None = None) -> CheckFigures:
    return CheckFigures(name, runs, passed, datetime(2026, 11, 30, tzinfo=UTC), "passed", value)


def test_a_measured_check_is_cited_by_part_of_its_name_in_any_case() -> None:
    metrics = DeliveryMetrics(
        90,
        checks={
            "Data validation (great_expectations)": figures("Data validation (great_expectations)", 20, 19),
            "coverage": figures("coverage", 3, 3, value=83.5),
        },
    )
    measured = measurements(metrics)
    assert measured["check:Data validation (great_expectations)"] == Measurement(
        "check:Data validation (great_expectations)",
        "Data validation (great_expectations): 19 of 20 runs passed (passing)",
        "passing",
    )
    assert measured["check value:coverage"].phrase == "coverage: 83.5 on its latest run"
    validation = weigh((EvidenceRule("check:data VALIDATION", SPANS),), measured, "C1", 90)
    assert validation is not None and (validation.low, validation.high) == (3, 4)
    coverage = weigh((EvidenceRule("check value:cover", ValueLevels({80.0: (3, 4), 0.0: (2, 2)})),), measured, "C1", 90)
    assert coverage is not None and (coverage.low, coverage.high) == (3, 4)
    assert [m.metric for m in coverage.measurements] == ["check value:coverage"]
    # A pass-rate rule does not read a value, nor the other way round; an unmatched name is no evidence.
    assert weigh((EvidenceRule("check:fairness", SPANS),), measured, "C1", 90) is None
    assert weigh((EvidenceRule("check value:data validation", ValueLevels({0.0: (2, 2)})),), measured, "C1", 90) is None


def test_a_value_under_every_threshold_is_no_evidence_and_a_metric_narrows_a_check() -> None:
    measured = check_measurements({"coverage": figures("coverage", 6, 3, value=12.0)})
    assert weigh((EvidenceRule("check value:coverage", ValueLevels({60.0: (3, 3)})),), measured, "C1", 90) is None
    both = {
        **measured,
        "lead_time": Measurement("lead_time", "median lead time 3 h (under a day)", "under a day"),
    }
    rules = (EvidenceRule("check:coverage", SPANS), EvidenceRule("lead_time", {"under a day": (3, 4)}))
    found = weigh(rules, both, "C1", 90)
    assert found is not None and (found.low, found.high) == (3, 3)  # flaky (2-3) and under a day (3-4)


def test_several_checks_match_a_rule_the_one_with_most_runs_speaks() -> None:
    checks = {
        "model tests (nightly)": figures("model tests (nightly)", 30, 30),
        "model tests (pr)": figures("model tests (pr)", 8, 2),
    }
    found = weigh((EvidenceRule("check:model tests", SPANS),), check_measurements(checks), "C1", 90)
    assert found is not None and [m.band for m in found.measurements] == ["passing"]


def test_a_digest_lists_the_checks_the_bank_cites_and_no_others() -> None:
    bank = parse_questionnaire(bank_with([{"check": "data validation", "levels": BANDS}]))
    checks = {f"lint {i}": figures(f"lint {i}", 50, 50) for i in range(40)}
    checks["Data validation"] = figures("Data validation", 6, 6, value=1.0)
    measured = {
        "lead_time": Measurement("lead_time", "median lead time 3 h (under a day)", "under a day"),
        **check_measurements(checks),
    }
    section = build_measured(bank, measured, "C1", 90, {bank.questions[0].id: 1.0})
    assert section is not None
    assert [m.metric for m in section.measurements] == ["lead_time", "check:Data validation"]
    assert [d.question_id for d in section.disagreements] == [bank.questions[0].id]  # L1 against passing (3-4)
    only_uncited = build_measured(bank, check_measurements({"lint": figures("lint", 9, 9)}), "C1", 90)
    assert only_uncited is None


def test_a_check_named_exactly_as_the_rule_has_no_precedence_over_one_with_more_runs() -> None:
    checks = {
        "Model tests nightly": figures("Model tests nightly", 30, 10),
        "model tests": figures("model tests", 5, 5),
    }
    measured = check_measurements(checks)
    bank = parse_questionnaire(bank_with([{"check": "model tests", "levels": BANDS}]))
    found = weigh(bank.questions[0].evidence, measured, "C1", 90)
    assert found is not None and [m.metric for m in found.measurements] == ["check:Model tests nightly"]
    section = build_measured(bank, measured, "C1", 90)
    assert section is not None and [m.metric for m in section.measurements] == ["check:Model tests nightly"]
