"""Settings parsed from the environment: working days and hours."""

from __future__ import annotations

import pytest

from bot.config import parse_work_days, parse_work_hours


def test_working_hours_parse_lists_and_ranges() -> None:
    assert parse_work_days("mon-fri") == frozenset(range(5))
    assert parse_work_days("tue, thu") == frozenset({1, 3})


@pytest.mark.parametrize(
    "days,hours,message",
    [
        ("tue,funday", "10-16", "funday"),
        ("fri-mon", "10-16", "backwards"),
        ("tue", "16-10", "start < end"),
        ("tue", "ten-four", "10-16"),
        ("tue", "0-25", "<= 24"),
    ],
)
def test_working_hours_reject_bad_settings_with_the_reason(days: str, hours: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_work_days(days)
        parse_work_hours(hours)
