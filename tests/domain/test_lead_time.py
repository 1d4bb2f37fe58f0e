"""Which deployment first shipped each change (bot/domain/lead_time.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.lead_time import Deployed, Pushed, first_shipped, lower_bound

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def t(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def shipped_by(
    deployments: list[Deployed], changes: list[Pushed], predecessor: Deployed | None = None
) -> dict[int, int]:
    return {change: d.id for change, d in first_shipped(deployments, changes, predecessor).items()}


def test_a_deployment_ships_every_push_since_the_previous_deployments_push() -> None:
    deployments = [Deployed(1, t(2), upper=t(1)), Deployed(2, t(10), upper=t(8))]
    changes = [Pushed(10, t(0)), Pushed(11, t(1)), Pushed(12, t(5)), Pushed(13, t(8)), Pushed(14, t(9))]

    # 14 was pushed after the last deployed head: not shipped yet
    assert shipped_by(deployments, changes) == {10: 1, 11: 1, 12: 2, 13: 2}


def test_a_deployment_whose_push_is_unknown_ships_nothing_and_its_successor_starts_after_it() -> None:
    deployments = [Deployed(1, t(2), upper=None), Deployed(2, t(10), upper=t(8))]
    changes = [Pushed(10, t(1)), Pushed(11, t(3)), Pushed(12, t(8))]

    # 10 was pushed before deployment 1 ran: it went out with it, unmeasurably
    assert shipped_by(deployments, changes) == {11: 2, 12: 2}


def test_a_change_in_two_ranges_after_a_rollback_was_first_shipped_by_the_earlier_deployment() -> None:
    deployments = [
        Deployed(1, t(5), upper=t(4)),  # ships 10, 11
        Deployed(2, t(6), upper=t(2)),  # a rollback to an older sha: ships nothing new
        Deployed(3, t(9), upper=t(8)),  # its range (t2, t8] covers 11 again, and 12
    ]
    changes = [Pushed(10, t(1)), Pushed(11, t(3)), Pushed(12, t(7))]

    assert shipped_by(deployments, changes) == {10: 1, 11: 1, 12: 3}


def test_the_predecessor_only_bounds_the_first_range() -> None:
    before = Deployed(1, t(2), upper=t(1))
    changes = [Pushed(10, t(0.5)), Pushed(11, t(1.5))]

    assert shipped_by([Deployed(2, t(3), upper=t(2))], changes, before) == {11: 2}
    assert lower_bound(before) == t(1)
    assert lower_bound(Deployed(1, t(2), upper=None)) == t(2)
    assert lower_bound(None) is None
