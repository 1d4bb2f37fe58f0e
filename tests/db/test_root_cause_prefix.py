"""An incident names its cause by a short sha, as GitLab shows it: the change failure rate still
counts it. GitLab's documented Deployment Hook and Issue Hook shapes (tests/signal_payloads.py),
parsed and stored as the receiver does; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from signal_payloads import gitlab_deployment, gitlab_issue

from bot.db import signal_metrics
from bot.db.people import workspace_id
from bot.db.setup import Database
from bot.db.signals import Source, add_events, add_source
from bot.domain.ingest import gitlab
from bot.domain.signals import SignalEvent, SignalType, SourceKind

NOW = datetime(2021, 5, 10, 12, 0, tzinfo=UTC)  # the documented hooks' times are in late April 2021
CHANNEL = "C0TEAM"


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def deployed(commit: str, deployment_id: int, status: str = "success") -> tuple[SignalEvent, ...]:
    payload = gitlab_deployment(status=status, deployment_id=deployment_id)
    payload.update(
        short_sha=commit[:8],
        commit_url=f"https://gitlab.example.com/acme/churn-model/-/commit/{commit}",
        status_changed_at=f"2021-04-{20 + deployment_id:02d} 21:50:00 +0200",
    )
    return gitlab.parse("Deployment Hook", payload, "production").events


def incident(iid: int, cause: str) -> tuple[SignalEvent, ...]:
    payload = gitlab_issue("close")
    payload["object_attributes"].update(
        iid=iid,
        description=f"Predictions went stale after the deploy.\n\nroot cause: {cause}",
        created_at="2021-04-29T08:00:00Z",
        closed_at="2021-04-29T10:00:00Z",
    )
    return gitlab.parse("Issue Hook", payload, "production").events


def project(database: Database) -> Source:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        source = Source("src-lab", ws, CHANNEL, SourceKind.GITLAB, "s", "production", "train", (), "U1", NOW)
        return add_source(session, source)


def failure_rate(database: Database, source: Source, *deliveries: tuple[SignalEvent, ...]) -> float | None:
    """The change failure rate after storing these deliveries, each as the receiver does."""
    for events in deliveries:
        with database.sessions.begin() as session:
            add_events(session, source, events)
    with database.sessions() as session:
        return signal_metrics.channel_metrics(session, CHANNEL, NOW, 30).change_failure_rate


def test_a_root_cause_by_its_seven_character_sha_names_the_deployment(database: Database) -> None:
    good, bad, caused = sha("good"), sha("bad"), sha("caused")
    named = incident(23, caused[:7])
    assert named[0].root_cause == caused[:7]
    deliveries = (deployed(good, 1), deployed(bad, 2, status="failed"), deployed(caused, 3), named)
    rate = failure_rate(database, project(database), *deliveries)
    assert rate == pytest.approx(2 / 3)  # the failed one and the one the incident names, of 3 (not 1/3)


def test_an_ambiguous_short_sha_names_no_deployment_and_a_longer_one_does(database: Database) -> None:
    # Two deployed shas sharing their first 7 characters: git would refuse that short sha too.
    first, second = "da15608" + "0" * 33, "da15608" + "f" * 33
    source = project(database)
    assert failure_rate(database, source, deployed(first, 1), deployed(second, 2), incident(23, "da15608")) == 0
    assert failure_rate(database, source, incident(24, "da156080")) == pytest.approx(1 / 2)


def test_a_prefix_shorter_than_seven_or_with_wildcards_names_nothing(database: Database) -> None:
    # The generic events API takes any text as a root cause: only a sha's prefix may name one.
    caused = sha("caused")
    source = project(database)
    opened = datetime(2021, 4, 29, 8, 0, tzinfo=UTC)

    def named(number: str, cause: str) -> tuple[SignalEvent, ...]:
        return (SignalEvent(SignalType.INCIDENT_OPENED, number, opened, root_cause=cause),)

    assert failure_rate(database, source, deployed(caused, 1), named("1", caused[:6]), named("2", "%%%%%%%")) == 0
    assert failure_rate(database, source, named("3", caused)) == 1
