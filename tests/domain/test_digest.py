"""The team digest builder: anonymity threshold, levels, change, team focus."""

from __future__ import annotations

from bot.domain.digest import (
    DimensionAggregate,
    QuestionAggregate,
    TeamAggregate,
    build_digest,
    respondent_threshold,
)
from bot.domain.questionnaire import Questionnaire


def aggregate(
    respondents: int, data: float, ops: float, questions: tuple[QuestionAggregate, ...] = ()
) -> TeamAggregate:
    return TeamAggregate(
        respondents=respondents,
        overall_mean=(data + ops) / 2,
        dimensions=(
            DimensionAggregate("data", respondents, data, (1, respondents - 1, 0, 0)),
            DimensionAggregate("ops", respondents, ops, (0, 0, respondents, 0)),
        ),
        questions=questions,
    )


def test_below_the_threshold_the_digest_carries_no_figures(small_bank: Questionnaire) -> None:
    digest = build_digest(small_bank, aggregate(4, 2.0, 3.0), members=10, min_respondents=5, period="Q4 2026")
    assert not digest.visible and digest.needed == 1
    assert digest.overall is None and digest.dimensions == () and digest.top is None
    assert digest.snapshot() == {}


def test_the_threshold_never_drops_below_three(small_bank: Questionnaire) -> None:
    digest = build_digest(small_bank, aggregate(2, 2.0, 3.0), members=2, min_respondents=1, period="p")
    assert not digest.visible and digest.min_respondents == 3


def test_levels_follow_the_half_open_bands(small_bank: Questionnaire) -> None:
    digest = build_digest(small_bank, aggregate(5, 2.5, 3.4999), members=5, min_respondents=5, period="p")
    assert [d.level for d in digest.dimensions] == [3, 3]
    assert digest.dimensions[0].spread == (1, 4, 0, 0)


def test_change_is_measured_against_the_previous_snapshot(small_bank: Questionnaire) -> None:
    first = build_digest(small_bank, aggregate(5, 2.0, 3.0), members=5, min_respondents=5, period="p1")
    second = build_digest(
        small_bank, aggregate(6, 2.5, 2.75), members=6, min_respondents=5, period="p2", previous=first.snapshot()
    )
    assert [d.change for d in second.dimensions] == [0.5, -0.25]
    assert second.change == 0.125


def test_team_focus_is_the_weakest_dimension_and_its_weakest_heavy_question(small_bank: Questionnaire) -> None:
    questions = (
        QuestionAggregate("data.versioning", 5, 1.4),  # weight 3
        QuestionAggregate("data.validation", 5, 1.4),  # weight 1: same mean, lighter
        QuestionAggregate("ops.rollback", 5, 1.0),  # lowest, but not in the weakest dimension
    )
    digest = build_digest(small_bank, aggregate(5, 1.8, 2.6, questions), members=5, min_respondents=5, period="p")
    assert digest.top is not None
    assert digest.top.dimension == "Data"
    assert digest.top.step_title == "Versioning"
    assert digest.top.step == small_bank.question("data.versioning").next_step(1)
    assert digest.top.advice == small_bank.dimension("data").recommendation(2)


def test_the_snapshot_records_the_respondents_and_the_threshold_rule_is_shared(small_bank: Questionnaire) -> None:
    digest = build_digest(small_bank, aggregate(5, 2.0, 3.0), members=5, min_respondents=5, period="p")
    assert digest.snapshot() == {
        "overall": 2.5,
        "respondents": 5,
        "dimensions": {"data": 2.0, "ops": 3.0},
        "pack": None,  # the deployment's default bank
        "bank_version": "test-1",
    }
    assert (respondent_threshold(1), respondent_threshold(3), respondent_threshold(7)) == (3, 3, 7)


def test_a_digest_names_its_pack_and_the_dimensions_the_last_one_had_that_it_does_not_ask(
    small_bank: Questionnaire,
) -> None:
    previous = {"overall": 2.0, "dimensions": {"data": 1.5, "ops": 2.5, "prompts": 3.0}}
    digest = build_digest(
        small_bank, aggregate(5, 2.0, 3.0), members=5, min_respondents=3, period="p", previous=previous, pack="core"
    )
    assert (digest.pack, digest.bank_version, digest.not_asked) == ("core", "test-1", ("prompts",))
    assert [d.change for d in digest.dimensions] == [0.5, 0.5]  # compared dimension by dimension
    assert digest.snapshot()["pack"] == "core"
    hidden = build_digest(small_bank, aggregate(1, 2.0, 3.0), members=5, min_respondents=3, period="p", pack="core")
    assert hidden.pack == "core" and hidden.not_asked == ()


def test_a_target_on_a_dimension_the_bank_does_not_ask_is_kept_and_said_never_judged(
    small_bank: Questionnaire,
) -> None:
    from datetime import UTC, datetime

    from bot.domain.targets import Target

    now = datetime(2026, 12, 7, tzinfo=UTC)
    targets = [
        Target("prompts", 3, None, None, "U1", now),  # an llmops dimension; this bank is not llmops
        Target("ops", 4, None, 2.0, "U1", now),
    ]
    digest = build_digest(
        small_bank, aggregate(5, 2.0, 3.0), members=5, min_respondents=3, period="p", targets=targets, now=now
    )
    assert [(t.dimension_id, t.asked) for t in digest.targets] == [("ops", True), ("prompts", False)]
    kept = digest.targets[1]
    assert (kept.current, kept.standing, kept.expected) == (None, None, None)
