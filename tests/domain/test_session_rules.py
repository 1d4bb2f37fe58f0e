"""The pure rules of a team session: its words, the reveal under the threshold, "mixed", an action's
checks and the summary scored as the bank weighs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.questionnaire import Questionnaire
from bot.domain.targets import DimensionChoice
from bot.domain.team_session import (
    NA,
    Agreement,
    EndSession,
    SessionProblem,
    StartSession,
    check_action,
    idle_since,
    parse_session_command,
    questions_for,
    reveal,
    summarise,
    voted_text,
    weakest_dimension,
)

DIMENSIONS = (DimensionChoice("data", "Data Management"), DimensionChoice("ops", "Operations"))


def test_the_words_choose_weakest_all_a_dimension_or_the_end() -> None:
    assert parse_session_command([], DIMENSIONS) == StartSession()
    assert parse_session_command(["weakest"], DIMENSIONS) == StartSession()
    assert parse_session_command(["ALL"], DIMENSIONS) == StartSession(everything=True)
    assert parse_session_command(["end"], DIMENSIONS) == EndSession()
    assert parse_session_command(["data", "man"], DIMENSIONS) == StartSession(DIMENSIONS[0])
    assert parse_session_command(["OPS"], DIMENSIONS) == StartSession(DIMENSIONS[1])
    with pytest.raises(SessionProblem) as unknown:
        parse_session_command(["security"], DIMENSIONS)
    assert "Data Management" in unknown.value.detail and "`all`" in unknown.value.detail


def test_a_reveal_under_the_threshold_shows_the_number_of_votes_only() -> None:
    withheld = reveal([1, 4], threshold=3)
    assert withheld.withheld and withheld.votes == 2 and withheld.counts is None and not withheld.mixed
    shown = reveal([1, 2, 2, NA], threshold=3)
    assert shown.counts == (1, 2, 0, 0) and shown.not_applicable == 1 and not shown.mixed


@pytest.mark.parametrize(
    ("votes", "mixed"),
    [([2, 3, 3], False), ([2, 4, 3], True), ([1, 3, 3], True), ([4, 4, 4], False), ([NA, 1, 2], False)],
)
def test_votes_two_or_more_levels_apart_are_mixed(votes: list[int], mixed: bool) -> None:
    assert reveal(votes, threshold=3).mixed is mixed


def test_the_count_says_of_how_many_when_it_knows() -> None:
    assert voted_text(7, 12) == "7 of 12 voted"
    assert voted_text(1, None) == "1 vote"
    assert voted_text(13, 12) == "13 votes"  # someone joined the channel after the start


def test_an_action_needs_words_and_a_due_date_not_in_the_past() -> None:
    today = date(2026, 12, 7)
    ok, problems = check_action("  Version   the data ", "U0ANA", today, today)
    assert problems == {} and ok.text == "Version the data"
    _, problems = check_action("", "not-a-user", today - timedelta(days=2), today)
    assert set(problems) == {"what", "owner", "due"}
    assert check_action("Later", None, today - timedelta(days=1), today)[1] == {}  # a day of slack: time zones
    _, problems = check_action("x" * 201, None, None, today)
    assert "200 characters" in problems["what"]


def test_the_summary_weighs_agreed_levels_as_the_bank_does_and_leaves_unreached_questions_out(
    small_bank: Questionnaire,
) -> None:
    agreed = [Agreement("data.versioning", 3, mixed=True), Agreement("data.validation", 2, mixed=False)]
    summary = summarise(small_bank, agreed, previous={"data": 2.0})
    [data] = summary.dimensions  # ops was not reached: not scored
    assert data.score == pytest.approx(2.75) and data.level == 3 and data.change == pytest.approx(0.75)
    assert [q.question_id for q in summary.mixed] == ["data.versioning"]
    assert summary.top is not None and summary.top.dimension_id == "data"
    assert summary.snapshot() == {"data": pytest.approx(2.75)}
    na_only = summarise(small_bank, [Agreement("ops.abtest", None, mixed=False)])
    assert na_only.dimensions[0].score is None and na_only.top is None


def test_the_weakest_dimension_and_a_sessions_questions(small_bank: Questionnaire) -> None:
    assert weakest_dimension(small_bank, {"data": 2.5, "ops": 2.1}) == "ops"
    assert weakest_dimension(small_bank, {"data": None}) is None
    assert questions_for(small_bank, "data") == ("data.versioning", "data.validation")
    assert len(questions_for(small_bank, None)) == len(small_bank)


def test_a_session_is_idle_after_72_hours() -> None:
    t = datetime(2026, 12, 7, tzinfo=UTC)
    assert not idle_since(t, t + timedelta(hours=71, minutes=59))
    assert idle_since(t, t + timedelta(hours=72))
