"""Calendar rules for digests, invitations and reminders (pure, time passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.schedule import (
    Cadence,
    WorkingHours,
    digest_due,
    period_key,
    prompt_key,
    reminder_due,
)

CADENCE = timedelta(days=90)
TUESDAY = 1
T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_working_hours_edges_are_half_open() -> None:
    hours = WorkingHours(frozenset({TUESDAY}), 10, 16)
    assert hours.contains(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "UTC")
    assert not hours.contains(datetime(2026, 12, 1, 16, 0, tzinfo=UTC), "UTC")
    assert not hours.contains(datetime(2026, 12, 1, 9, 59, tzinfo=UTC), "UTC")


def test_the_same_local_hour_follows_daylight_saving_in_utc() -> None:
    hours = WorkingHours(frozenset({TUESDAY}), 10, 11)
    # 10:00 in Berlin is 08:00 UTC in summer time and 09:00 UTC in winter time.
    assert hours.contains(datetime(2026, 10, 20, 8, 0, tzinfo=UTC), "Europe/Berlin")
    assert not hours.contains(datetime(2026, 10, 27, 8, 0, tzinfo=UTC), "Europe/Berlin")
    assert hours.contains(datetime(2026, 10, 27, 9, 0, tzinfo=UTC), "Europe/Berlin")


def test_unknown_time_zone_falls_back_to_utc() -> None:
    hours = WorkingHours(frozenset({TUESDAY}), 10, 16)
    assert hours.contains(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), "Mars/Olympus_Mons")
    assert hours.contains(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), None)


@pytest.mark.parametrize(
    "cadence,when,key",
    [
        (Cadence.WEEKLY, datetime(2026, 12, 31, tzinfo=UTC), "2026-W53"),
        (Cadence.WEEKLY, datetime(2027, 1, 4, tzinfo=UTC), "2027-W01"),
        (Cadence.MONTHLY, datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "2026-11"),
        (Cadence.QUARTERLY, datetime(2026, 10, 1, tzinfo=UTC), "2026-Q4"),
        (Cadence.QUARTERLY, datetime(2026, 9, 30, 23, 59, tzinfo=UTC), "2026-Q3"),
    ],
)
def test_period_keys(cadence: Cadence, when: datetime, key: str) -> None:
    assert period_key(cadence, when) == key


def test_digest_waits_for_the_next_period_and_then_posts_once() -> None:
    subscribed = datetime(2026, 11, 10, tzinfo=UTC)
    assert not digest_due(Cadence.MONTHLY, subscribed, None, datetime(2026, 11, 30, tzinfo=UTC))
    assert digest_due(Cadence.MONTHLY, subscribed, None, datetime(2026, 12, 1, tzinfo=UTC))
    assert not digest_due(Cadence.MONTHLY, subscribed, "2026-12", datetime(2026, 12, 20, tzinfo=UTC))
    assert digest_due(Cadence.MONTHLY, subscribed, "2026-12", datetime(2027, 1, 1, tzinfo=UTC))


def test_prompt_is_due_at_the_cadence_and_once_per_cycle() -> None:
    assert prompt_key(T - CADENCE + timedelta(seconds=1), T, CADENCE) is None
    first = prompt_key(T - CADENCE, T, CADENCE)
    assert first is not None
    assert prompt_key(T - CADENCE, T + timedelta(days=89), CADENCE) == first
    assert prompt_key(T - CADENCE, T + CADENCE, CADENCE) not in (None, first)


def test_never_assessed_people_get_one_prompt_per_cadence() -> None:
    key = prompt_key(None, T, CADENCE)
    assert key is not None and key.startswith("never:")
    keys = {prompt_key(None, T + timedelta(days=d), CADENCE) for d in range(0, 90)}
    assert len(keys) <= 2  # a 90-day window touches at most two cycles


@pytest.mark.parametrize(
    "idle_days,sent,due",
    [(2.9, 0, None), (3, 0, 1), (5, 1, None), (7, 1, 2), (7, 0, 1), (30, 2, None), (400, 2, None)],
)
def test_reminders_after_three_and_seven_idle_days_then_none(idle_days: float, sent: int, due: int | None) -> None:
    assert reminder_due(T - timedelta(days=idle_days), sent, T) == due
