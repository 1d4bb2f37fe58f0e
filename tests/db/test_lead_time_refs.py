"""Lead time counts only the changes a deployment shipped: those pushed to the deployed ref.

Parsed from GitHub's push and deployment_status examples (tests/data/webhooks/github), with
only refs, shas and times changed, and stored as the receiver stores them; on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.db import signal_metrics
from bot.db.people import workspace_id
from bot.db.setup import Database
from bot.db.signals import Source, add_events, add_source, record_deliveries
from bot.domain.ingest import github
from bot.domain.signals import SignalEvent, SignalType, SourceKind

EXAMPLES = Path(__file__).parent.parent / "data" / "webhooks" / "github"
DEPLOYED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NOW = DEPLOYED + timedelta(days=1)
CHANNEL = "C0TEAM"


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def hours_before(hours: float) -> datetime:
    return DEPLOYED - timedelta(hours=hours)


def push(ref: str, *commits: tuple[str, datetime]) -> tuple[SignalEvent, ...]:
    """GitHub's push example to ``ref``: these commits (sha, time), pushed when the last was made."""
    payload = example("push")
    shape = payload["commits"][0]
    listed = [{**deepcopy(shape), "id": commit, "timestamp": at.isoformat()} for commit, at in commits]
    payload.update(ref=ref, after=listed[-1]["id"], commits=listed, head_commit=listed[-1])
    return github.parse("push", payload, "train").events


def deployment(deployed_sha: str, at: datetime, deployment_id: int) -> tuple[SignalEvent, ...]:
    payload = example("deployment_status")
    payload["deployment"].update(sha=deployed_sha, id=deployment_id)
    payload["deployment_status"]["created_at"] = at.isoformat()
    return github.parse("deployment_status", payload, "train").events


def stored(database: Database, *deliveries: tuple[SignalEvent, ...]) -> float | None:
    """Each delivery stored in its own transaction, as they arrive; the lead time's median in hours."""
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = Source("src-repo", ws, CHANNEL, SourceKind.GITHUB, "s", "production", "train", (), "U1", NOW)
        add_source(session, repo)
    for events in deliveries:
        with database.sessions.begin() as session:
            add_events(session, repo, events)
    with database.sessions() as session:
        return signal_metrics.channel_metrics(session, CHANNEL, NOW, 30).lead_time_hours_p50


def test_a_push_to_a_feature_branch_is_not_shipped_by_mains_deployment(database: Database) -> None:
    feature, main = sha("feature-x"), sha("main")
    changes = push("refs/heads/feature-x", (feature, hours_before(36)))
    assert [(e.type, e.name) for e in changes] == [(SignalType.CHANGE, "refs/heads/feature-x")]
    lead = stored(
        database,
        changes,
        push("refs/heads/main", (main, hours_before(24))),
        deployment(main, DEPLOYED, 1),
    )
    assert lead == pytest.approx(24)  # not the median of 24 h and feature-x's 36 h


def test_a_merged_branchs_commits_ship_with_the_deployed_ref(database: Database) -> None:
    # feature-x's commit is pushed, then main deploys without it, then a merge brings it to main
    # (GitHub lists it again in main's push, not distinct), and the next deployment ships it.
    feature, first, merge = sha("feature-x"), sha("main-1"), sha("merge")
    lead = stored(
        database,
        push("refs/heads/feature-x", (feature, hours_before(40))),
        push("refs/heads/main", (first, hours_before(30))),
        deployment(first, hours_before(28), 1),  # ships main-1 only: 2 h
        push("refs/heads/main", (feature, hours_before(40)), (merge, hours_before(4))),
        deployment(merge, DEPLOYED, 2),  # ships the merge, 4 h, and feature-x's commit, 40 h
    )
    assert lead == pytest.approx(4)  # 2, 4, 40


def test_pushes_without_a_ref_keep_the_range_alone(database: Database) -> None:
    # The generic events API sends no ref: every change of the range counts, as before.
    def change(commit: str, at: datetime, head: str) -> SignalEvent:
        return SignalEvent(SignalType.CHANGE, commit, at, sha=commit, head=head, pushed_at=at)

    deployed = SignalEvent(SignalType.DEPLOYMENT, "d-1", DEPLOYED, environment="production", sha="b")
    lead = stored(database, (change("a", hours_before(36), "a"), change("b", hours_before(24), "b"), deployed))
    assert lead == pytest.approx(30)


def test_a_branch_its_merge_and_the_deployment_in_one_batch_link_as_one_by_one(database: Database) -> None:
    # Group commit may store them in one transaction: the merge still takes the branch's commit.
    feature, merge = sha("feature-x"), sha("merge")
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = Source("src-repo", ws, CHANNEL, SourceKind.GITHUB, "s", "production", "train", (), "U1", NOW)
        add_source(session, repo)
        deliveries = [
            push("refs/heads/feature-x", (feature, hours_before(40))),
            push("refs/heads/main", (feature, hours_before(40)), (merge, hours_before(4))),
            deployment(merge, DEPLOYED, 1),
        ]
        batch = [(repo, (f"d-{i}", "push", "{}"), events, NOW) for i, events in enumerate(deliveries)]
        assert record_deliveries(session, batch) == [1, 1, 1]  # the merge's copy of the commit is not new
    with database.sessions() as session:
        lead = signal_metrics.channel_metrics(session, CHANNEL, NOW, 30).lead_time_hours_p50
    assert lead == pytest.approx((4 + 40) / 2)
