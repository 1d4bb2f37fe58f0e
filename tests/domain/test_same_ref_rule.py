"""The same-ref rule of lead time, without a database: a deployment ships the changes of its range
pushed to the deployed ref; a change or deployment without a ref keeps the range alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signal_payloads import gitlab_push

from bot.domain.ingest import gitlab
from bot.domain.lead_time import Deployed, Pushed, first_shipped

T0 = datetime(2026, 11, 30, tzinfo=UTC)


def hour(n: int) -> datetime:
    return T0 + timedelta(hours=n)


def test_only_changes_of_the_deployed_ref_are_shipped() -> None:
    changes = [
        Pushed(1, hour(1), "refs/heads/feature-x"),
        Pushed(2, hour(2), "refs/heads/main"),
        Pushed(3, hour(3), None),  # the generic events API: no ref known
    ]
    shipped = first_shipped([Deployed(10, hour(5), hour(3), "refs/heads/main")], changes)
    assert sorted(shipped) == [2, 3]
    # A deployment whose push carried no ref ships the whole range, as before refs were known.
    assert sorted(first_shipped([Deployed(10, hour(5), hour(3), None)], changes)) == [1, 2, 3]


def test_a_gitlab_push_names_its_ref_on_every_change() -> None:
    events = gitlab.parse("Push Hook", gitlab_push(), "production").events
    assert {e.name for e in events} == {"refs/heads/main"}
