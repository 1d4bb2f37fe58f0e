"""Export shaping: the formula escape, the person key, the tables and the CSV they make."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from bot.domain.export import (
    AssessmentExport,
    ExportedAnswer,
    ExportedAssessment,
    ExportedScore,
    Table,
    TeamExport,
    TeamPeriod,
    assessment_table,
    assessments_json,
    dimension_columns,
    escape_formula,
    person_key,
    team_table,
    teams_json,
    to_csv,
)

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
SECRET = b"k" * 32


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["T0001", "U0ANA", "", "a=b", "2026-11-02", "'quoted", " =x"])
def test_other_text_is_left_alone(text: str) -> None:
    assert escape_formula(text) == text


def test_the_person_key_is_stable_and_differs_per_person_workspace_and_secret() -> None:
    key = person_key(SECRET, "T1", "U23")
    assert key == person_key(SECRET, "T1", "U23")
    assert len(key) == 20 and int(key, 16) >= 0
    others = {
        person_key(SECRET, "T1", "U24"),
        person_key(SECRET, "T2", "U23"),
        person_key(SECRET, "T1U", "23"),  # the separator keeps the parts apart
        person_key(b"other", "T1", "U23"),
    }
    assert key not in others and len(others) == 4


def test_dimension_columns_follow_the_bank_then_list_retired_ones() -> None:
    assert dimension_columns(["data", "ops", "gov"], ["zeta", "ops", "data", "alpha", "ops"]) == (
        "data",
        "ops",
        "alpha",
        "zeta",
    )


def sample(user_ids: bool = False) -> AssessmentExport:
    return AssessmentExport(
        dimensions=("data", "ops"),
        assessments=(
            ExportedAssessment(
                workspace="=cmd|' /C calc'!A0",
                person="@ana",
                assessment_id=7,
                completed_at=AT,
                bank_version="v1",
                overall_score=2.5,
                overall_level=3,
                dimensions=(ExportedScore("data", 2.0, 2), ExportedScore("ops", None, None)),
                answers=(ExportedAnswer("data.a", "data", None, None, "Title", "Text?"),),
            ),
            ExportedAssessment("T1", "k2", 8, AT, "v1", None, None, (ExportedScore("ops", 4.0, 4),)),
        ),
        user_ids=user_ids,
    )


def test_the_assessment_table_has_a_row_per_assessment_and_two_columns_per_dimension() -> None:
    table = assessment_table(sample())
    assert table.header == (
        "workspace",
        "person_key",
        "assessment_id",
        "completed_at",
        "bank_version",
        "overall_score",
        "overall_level",
        "data_score",
        "data_level",
        "ops_score",
        "ops_level",
    )
    assert table.rows[0][2:] == (7, AT.isoformat(), "v1", 2.5, 3, 2.0, 2, None, None)
    assert table.rows[1][5:] == (None, None, None, None, 4.0, 4)
    assert assessment_table(sample(user_ids=True)).header[1] == "user_id"


def test_csv_escapes_text_cells_leaves_numbers_and_writes_empty_cells_for_missing_values() -> None:
    text = to_csv(assessment_table(sample()))
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][:2] == ["'=cmd|' /C calc'!A0", "'@ana"]
    assert rows[1][5:] == ["2.5", "3", "2.0", "2", "", ""]
    assert to_csv(Table(("a",), ((-1.5,), ("-1",)))).splitlines() == ["a", "-1.5", "'-1"]


def test_json_carries_the_answers_and_the_kind_of_person_id() -> None:
    doc = assessments_json(sample(), AT)
    assert doc["person"] == "person_key" and doc["dimensions"] == ["data", "ops"]
    first = doc["assessments"][0]
    assert first["workspace"] == "=cmd|' /C calc'!A0"  # JSON is not a spreadsheet: nothing escaped
    assert first["overall"] == {"score": 2.5, "level": 3}
    assert first["answers"] == [
        {
            "question_id": "data.a",
            "dimension_id": "data",
            "level": None,
            "option": None,
            "question_title": "Title",
            "question_text": "Text?",
        }
    ]
    assert assessments_json(sample(user_ids=True), AT)["person"] == "user_id"


def test_team_rows_and_json() -> None:
    export = TeamExport(
        ("data", "ops"),
        (
            TeamPeriod(
                "T1",
                "C1",
                "2026-11",
                AT,
                5,
                2.5,
                (("data", 2.0), ("ops", 3.0)),
                {
                    "data": {"confirmed": 1, "contradicted": ["data.a"], "unverifiable": 0},
                    "ops": {"confirmed": 2, "contradicted": ["ops.x", "ops.y"], "unverifiable": 1},
                },
            ),
            TeamPeriod("T1", "C1", "2026-12", None, None, None, (("data", None),)),
        ),
    )
    table = team_table(export)
    assert table.header[-6:] == (
        "data_mean",
        "ops_mean",
        "confirmed",
        "contradicted",
        "unverifiable",
        "contradicted_questions",
    )
    assert table.rows == (
        ("T1", "C1", "2026-11", AT.isoformat(), 5, 2.5, 2.0, 3.0, 3, 3, 1, "data.a ops.x ops.y"),
        # no measurement: nothing to count, rather than zeros that would read as "all unverified"
        ("T1", "C1", "2026-12", None, None, None, None, None, None, None, None, None),
    )
    doc = teams_json(export, AT)
    assert doc["teams"][0]["dimensions"] == [{"id": "data", "mean": 2.0}, {"id": "ops", "mean": 3.0}]
    assert doc["teams"][0]["say_do"]["ops"]["contradicted"] == ["ops.x", "ops.y"]
    assert doc["teams"][1]["sent_at"] is None
    assert doc["teams"][1]["say_do"] == {}
