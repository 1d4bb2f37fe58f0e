"""Team targets, pure: the words of `/compass target`, quarters, and progress against the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.digest import (
    ChannelAggregate,
    DimensionAggregate,
    TeamAggregate,
    build_digest,
    build_overview,
)
from bot.domain.questionnaire import Questionnaire
from bot.domain.targets import (
    DimensionChoice,
    ListTargets,
    Quarter,
    RemoveTarget,
    SetTarget,
    Standing,
    Target,
    TargetProblem,
    expected_score,
    parse_quarter,
    parse_target_command,
    quarter_of,
    standing,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DIMS = (
    DimensionChoice("data", "Data & Features"),
    DimensionChoice("deploy", "Deployment"),
    DimensionChoice("monitoring", "Monitoring & Governance"),
    DimensionChoice("models", "Model Development"),
)
DATA, DEPLOY, MONITORING, MODELS = DIMS


def parse(text: str) -> object:
    return parse_target_command(text.split(), DIMS, NOW)


def problem(text: str) -> str:
    with pytest.raises(TargetProblem) as raised:
        parse(text)
    line = raised.value.detail
    assert "\n" not in line
    return line


def test_quarters_end_at_the_start_of_the_next_one() -> None:
    assert quarter_of(NOW) == Quarter(2026, 4)
    assert Quarter(2027, 2).deadline == datetime(2027, 7, 1, tzinfo=UTC)
    assert Quarter(2026, 4).deadline == datetime(2027, 1, 1, tzinfo=UTC)
    assert Quarter(2026, 4).following() == Quarter(2027, 1)
    assert Quarter(2027, 2).label == "2027-Q2"
    assert parse_quarter("2027q3", NOW) == Quarter(2027, 3)
    assert parse_quarter("2026-Q4", NOW) == Quarter(2026, 4)  # this quarter is still open


@pytest.mark.parametrize("text", ["2027-Q5", "2027-Q0", "Q2-2027", "next year", "27-Q1"])
def test_a_malformed_quarter_is_explained_with_an_example(text: str) -> None:
    with pytest.raises(TargetProblem, match=r"YYYY-Qn.*2027-Q1"):
        parse_quarter(text, NOW)


def test_a_past_quarter_is_refused() -> None:
    with pytest.raises(TargetProblem, match=r"2026-Q3 is over.*2026-Q4"):
        parse_quarter("2026-Q3", NOW)


def test_the_words_of_the_command() -> None:
    assert parse("") == ListTargets()
    assert parse("monitoring 3 by 2027-Q2") == SetTarget(MONITORING, 3, Quarter(2027, 2))
    assert parse("Monitoring & Governance L3 by 2027-q2") == SetTarget(MONITORING, 3, Quarter(2027, 2))
    assert parse("mon 4") == SetTarget(MONITORING, 4, None)
    assert parse("DEPLOY off") == RemoveTarget(DEPLOY)
    assert parse("data 2") == SetTarget(DATA, 2, None)  # the id, though "Data & Features" also starts so


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("monitring 3", "no dimension `monitring`"),
        ("m 3", "could be `monitoring` (Monitoring & Governance), `models` (Model Development)"),
        ("monitoring 5", "choose 1, 2, 3 or 4"),
        ("monitoring 0", "choose 1, 2, 3 or 4"),
        ("monitoring -1", "choose 1, 2, 3 or 4"),
        ("monitoring thre", "`thre` is not a level"),
        ("monitoring", "Give a level for Monitoring & Governance"),
        ("monitoring 3 bye 2027-Q2", "add a date as `by YYYY-Qn`"),
        ("monitoring 3 by", "add a date as `by YYYY-Qn`"),
        ("monitoring 3 by 2026-Q1", "2026-Q1 is over"),
        ("monitoring 3 by 2027-Q9", "not a quarter"),
        ("monitoring off now", "write only `/compass target monitoring off`"),
    ],
)
def test_bad_input_gets_one_line_with_the_valid_choices(text: str, says: str) -> None:
    assert says in problem(text)


def test_an_unknown_dimension_lists_every_choice() -> None:
    line = problem("security 3")
    assert all(f"`{d.id}`" in line for d in DIMS)


Q2_2027 = Quarter(2027, 2)


def target(baseline: float | None, level: int = 3, by: Quarter | None = Q2_2027) -> Target:
    return Target("monitoring", level, by, baseline, "U1", NOW)


def test_the_line_runs_from_the_baseline_to_the_level_at_the_deadline() -> None:
    t = target(2.0)
    deadline = Quarter(2027, 2).deadline
    assert expected_score(t, NOW) == pytest.approx(2.0)
    assert expected_score(t, NOW + (deadline - NOW) / 2) == pytest.approx(2.5)
    assert expected_score(t, deadline) == 3.0
    assert expected_score(t, deadline + timedelta(days=30)) == 3.0
    assert expected_score(target(None), NOW) is None and expected_score(target(2.0, by=None), NOW) is None


def test_on_track_behind_and_reached() -> None:
    t = target(2.0)
    halfway = NOW + (Quarter(2027, 2).deadline - NOW) / 2  # the line is at 2.5
    assert standing(t, 2.30, halfway) is Standing.ON_TRACK  # 0.20 below the line
    assert standing(t, 2.24, halfway) is Standing.BEHIND  # more than 0.25 below
    assert standing(t, 2.5, NOW) is Standing.REACHED  # level 3 begins at 2.5
    assert standing(t, 2.4, Quarter(2027, 2).deadline) is Standing.BEHIND
    assert standing(t, None, halfway) is None
    assert standing(target(None), 2.0, halfway) is Standing.NOT_JUDGED
    assert standing(target(None), 3.6, halfway) is Standing.REACHED


def aggregate(respondents: int, data: float, ops: float) -> TeamAggregate:
    return TeamAggregate(
        respondents,
        (data + ops) / 2,
        (
            DimensionAggregate("data", respondents, data, (0, respondents, 0, 0)),
            DimensionAggregate("ops", respondents, ops, (0, respondents, 0, 0)),
        ),
        (),
    )


def test_the_digest_shows_targets_with_figures_only_above_the_threshold(small_bank: Questionnaire) -> None:
    targets = [Target("ops", 3, Quarter(2027, 2), 2.0, "U1", NOW), Target("data", 2, None, None, "U1", NOW)]
    previous = {"overall": 2.0, "dimensions": {"data": 1.5, "ops": 1.9}}
    digest = build_digest(
        small_bank,
        aggregate(5, 2.0, 2.1),
        members=5,
        min_respondents=5,
        period="p",
        previous=previous,
        targets=targets,
        now=NOW,
    )
    data, ops = digest.targets  # in the bank's order
    assert (data.dimension, data.standing, data.by) == ("Data", Standing.REACHED, None)
    assert ops.current == 2.1 and ops.change == pytest.approx(0.2) and ops.standing is Standing.ON_TRACK
    hidden = build_digest(
        small_bank, aggregate(2, 2.0, 2.1), members=5, min_respondents=5, period="p", targets=targets, now=NOW
    )
    assert [(t.dimension_id, t.current, t.change, t.standing) for t in hidden.targets] == [
        ("data", None, None, None),
        ("ops", None, None, None),
    ]
    with pytest.raises(ValueError, match="now"):
        build_digest(small_bank, aggregate(5, 2, 2), members=5, min_respondents=5, period="p", targets=targets)


def test_the_overview_hides_every_figure_of_a_team_under_the_threshold(small_bank: Questionnaire) -> None:
    overview = build_overview(
        small_bank,
        [
            ChannelAggregate("C1", 10, 5, 2.2, (("data", 1.9), ("ops", 2.6))),
            ChannelAggregate("C2", 10, 2, 3.0, (("data", 3.0), ("ops", 3.0))),
        ],
        min_respondents=1,
    )
    assert overview.dimensions == ("Data", "Operations") and overview.min_respondents == 3
    shown, hidden = overview.rows
    assert shown.visible and shown.levels == (2, 3) and shown.means == (1.9, 2.6) and shown.level == 2
    assert not hidden.visible and hidden.means == () and hidden.levels == () and hidden.overall is None
