"""The delivery metrics' definitions against hand-computed figures, on SQLite and PostgreSQL.

One channel with a GitHub repository and an MLflow registry, and another channel whose events
must never count. Times are offsets from NOW; the expected figures are worked out in comments.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from bot.db import signal_metrics
from bot.db.lead_times import link_changes
from bot.db.models import SignalEventRow as E
from bot.db.people import workspace_id
from bot.db.setup import Database
from bot.db.signals import Source, add_events, add_source
from bot.domain.delivery_metrics import DAYS_PER_MONTH
from bot.domain.signals import SignalEvent, SignalType, SourceKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0TEAM"
OTHER = "C0OTHER"


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


def deployed(sha: str, when: datetime, env: str = "production", failed: bool = False) -> SignalEvent:
    kind = SignalType.DEPLOYMENT_FAILED if failed else SignalType.DEPLOYMENT
    return SignalEvent(kind, f"{kind}-{sha}-{when.isoformat()}", when, environment=env, sha=sha)


def push(head: str, pushed: datetime, *commits: tuple[str, datetime]) -> list[SignalEvent]:
    return [SignalEvent(SignalType.CHANGE, sha, t, sha=sha, head=head, pushed_at=pushed) for sha, t in commits]


def incident(
    number: str, opened: datetime, resolved: datetime | None = None, cause: str | None = None
) -> list[SignalEvent]:
    events = [SignalEvent(SignalType.INCIDENT_OPENED, number, opened, root_cause=cause)]
    if resolved is not None:
        events.append(SignalEvent(SignalType.INCIDENT_RESOLVED, number, resolved, root_cause=cause))
    return events


def training(run: str, model: str, when: datetime) -> SignalEvent:
    return SignalEvent(SignalType.TRAINING_RUN, run, when, model=model)


def model_deployed(model: str, version: str, when: datetime, created: datetime | None) -> SignalEvent:
    return SignalEvent(
        SignalType.MODEL_DEPLOYED, f"{model}-{version}", when, model=model, version=version, version_at=created
    )


def source(ws: int, sid: str, kind: SourceKind, channel: str = CHANNEL) -> Source:
    return Source(sid, ws, channel, kind, "secret", "production", "train", ("production",), "U1", at(-400))


HISTORY = [
    # D0, before the 30-day window: sha s0, pushed at -40d -2h with one commit at -40d -3h.
    *push("s0", at(-40, -2), ("s0", at(-40, -3))),
    deployed("s0", at(-40)),
    # D1 at -19d +2h carries two pushes: P1 (a1, a2) and P2 (b1), both after D0's push.
    *push("a2", at(-20), ("a1", at(-20, -2)), ("a2", at(-20, -1))),
    *push("b1", at(-19), ("b1", at(-19, -4))),
    deployed("b1", at(-19, 2)),  # leads: a1 28 h, a2 27 h, b1 6 h
    # c1 fails to deploy once, then deploys at -10d +3h: lead 4 h. An incident names c1.
    *push("c1", at(-10), ("c1", at(-10, -1))),
    deployed("c1", at(-10, 1), failed=True),
    deployed("c1", at(-10, 3)),
    # D3: d0 2.5 h; d1 committed at the deployment's very time, lead 0, left out.
    *push("d1", at(-5), ("d0", at(-5, -2)), ("d1", at(-5, 0.5))),
    deployed("d1", at(-5, 0.5)),
    # Staging: stored, never counted (its push waits for a production deployment that never came).
    *push("e1", at(-3, -1), ("e1", at(-3, -2))),
    deployed("e1", at(-3), env="staging"),
    deployed("e1", at(-2), env="staging", failed=True),
    # Incidents: I1 caused by c1, restored in 4 h; I2 still open; I3 opened before the window and
    # resolved in it (1392 h); I4 wholly before the 30-day window (120 h), naming D0.
    *incident("1", at(-10, 5), at(-10, 9), cause="c1"),
    *incident("2", at(-4)),
    *incident("3", at(-60), at(-2)),
    *incident("4", at(-50), at(-45), cause="s0"),
    # A deployment after NOW is not counted either.
    deployed("f1", at(1)),
]

REGISTRY = [
    training("r1", "churn", at(-20)),
    training("r2", "churn", at(-5)),
    training("r3", "fraud", at(-1)),
    training("r4", "churn", at(-40)),
    model_deployed("churn", "1", at(-44), created=at(-45)),
    model_deployed("churn", "2", at(-19), created=at(-21)),  # serving: 21 days old
    model_deployed("fraud", "7", at(-50), created=at(-100)),  # serving: 100 days old
]

ELSEWHERE = [
    *push("z1", at(-2), ("z1", at(-2, -5))),
    deployed("z1", at(-1)),
    deployed("z1", at(-1, 1), failed=True),
    *incident("9", at(-1), at(-1, 1), cause="z1"),
    training("z", "other", at(-1)),
]


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
        registry = add_source(session, source(ws, "src-registry", SourceKind.MLFLOW))
        other = add_source(session, source(ws, "src-other", SourceKind.EVENTS, channel=OTHER))
        add_events(session, repo, HISTORY)
        add_events(session, registry, REGISTRY)
        add_events(session, other, ELSEWHERE)
    return database


def metrics(database: Database, days: int) -> signal_metrics.DeliveryMetrics:
    with database.sessions.begin() as session:
        return signal_metrics.channel_metrics(session, CHANNEL, NOW, days)


def test_thirty_days_of_one_channel(seeded: Database) -> None:
    m = metrics(seeded, 30)
    assert (m.window_days, m.deployments, m.failed_deployments) == (30, 3, 1)
    assert m.deployment_frequency_per_week == pytest.approx(3 / (30 / 7))
    # leads 2.5, 4, 6, 27, 28 h
    assert m.lead_time_hours_p50 == pytest.approx(6)
    # (1 failed + D2 named by I1) / (3 + 1)
    assert m.change_failure_rate == pytest.approx(0.5)
    # I1 4 h, I3 1392 h; I2 is still open, I4 resolved before the window
    assert m.time_to_restore_hours_p50 == pytest.approx((4 + 1392) / 2)
    assert (m.training_runs, m.model_deployments) == (3, 1)
    assert m.training_runs_per_month_per_model == pytest.approx(3 / (30 / DAYS_PER_MONTH) / 2)
    assert m.model_age_days == pytest.approx((21 + 100) / 2)


def test_ninety_days_reach_the_first_deployment(seeded: Database) -> None:
    m = metrics(seeded, 90)
    assert (m.deployments, m.failed_deployments) == (4, 1)
    # D0 has no deployment before it, so it carries every push up to its own: s0, 3 h.
    assert m.lead_time_hours_p50 == pytest.approx((4 + 6) / 2)  # 2.5, 3, 4, 6, 27, 28
    # (1 failed + D2 named by I1 + D0 named by I4) / (4 + 1)
    assert m.change_failure_rate == pytest.approx(0.6)
    assert m.time_to_restore_hours_p50 == pytest.approx(120)  # 4, 120, 1392
    assert (m.training_runs, m.model_deployments) == (4, 3)


def test_a_deployment_whose_predecessor_push_is_unknown_starts_after_that_deployment(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
        add_events(
            session,
            repo,
            [
                deployed("unknown", at(-60)),  # before the window, its push never reported
                *push("x1", at(-61), ("x0", at(-61, -1))),  # pushed before it: not carried by D1
                *push("x2", at(-10), ("x2", at(-10, -8))),
                deployed("x2", at(-10)),
            ],
        )
    m = metrics(database, 30)
    assert m.lead_time_hours_p50 == pytest.approx(8)


def test_a_channel_without_events_has_no_data(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
        assert signal_metrics.has_signals(session, CHANNEL)
        assert not signal_metrics.has_signals(session, OTHER)
    m = metrics(database, 90)
    assert m.as_json_dict() == {
        "window_days": 90,
        "deployments": 0,
        "failed_deployments": 0,
        "deployment_frequency_per_week": None,
        "deployment_frequency_band": None,
        "lead_time_hours_p50": None,
        "lead_time_band": None,
        "change_failure_rate": None,
        "change_failure_band": None,
        "time_to_restore_hours_p50": None,
        "time_to_restore_band": None,
        "training_runs": 0,
        "training_runs_per_month_per_model": None,
        "training_band": None,
        "model_deployments": 0,
        "model_age_days": None,
        "changes_merged": 0,
        "reviewed_share": None,
        "reviewed_share_band": None,
        "review_hours_p50": None,
        "review_time_band": None,
        "merge_hours_p50": None,
        "model_versions": 0,
        "documented_share": None,
        "documented_band": None,
        "tracked_share": None,
        "tracked_band": None,
        "alerts_fired": 0,
        "alerts_resolved": 0,
        "alert_time_to_resolve_hours_p50": None,
        "alert_resolution_band": None,
        "alerts_by_category": {},
        "model_alerts_fired": 0,
        "model_alerts_resolved": 0,
        "checks": {},
    }
    assert not m.has_data


def test_old_deployments_only_give_a_frequency_of_zero(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
        add_events(session, repo, [deployed("old", at(-200))])
    m = metrics(database, 90)
    assert m.deployment_frequency_per_week == 0.0
    assert m.as_json_dict()["deployment_frequency_band"] == "fewer"
    assert m.change_failure_rate is None


def test_the_statement_count_does_not_grow_with_the_history(seeded: Database) -> None:
    statements: list[str] = []
    event.listen(seeded.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    metrics(seeded, 90)
    # four for DORA's metrics and the ML ones, one for code review (bot/db/review_metrics.py), the
    # alerts' counts (bot/db/alert_metrics.py: no median when none was resolved), one for model
    # documentation (bot/db/model_doc_metrics.py), one for the checks (bot/db/check_metrics.py)
    assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 4 + 1 + 1 + 1 + 1


def test_an_alias_without_version_at_is_as_old_as_its_model_version_created(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        registry = add_source(session, source(ws, "src-registry", SourceKind.MLFLOW))
        other = add_source(session, source(ws, "src-other", SourceKind.MLFLOW, channel=OTHER))
        # what bot/domain/ingest/mlflow.py stores: model_version.created is a training run with
        # the model and version, model_version_alias.created a model deployment without version_at
        version = SignalEvent(SignalType.TRAINING_RUN, "churn/3", at(-12), model="churn", version="3")
        add_events(
            session,
            registry,
            [
                SignalEvent(SignalType.TRAINING_RUN, "churn/2", at(-30), model="churn", version="2"),
                version,
                SignalEvent(SignalType.TRAINING_RUN, "fraud/3", at(-40), model="fraud", version="3"),
                model_deployed("churn", "3", at(-2), created=None),  # serving: 12 days old
                model_deployed("fraud", "3", at(-1), created=at(-4)),  # serving: 4 days old
            ],
        )
        # the same model and version in another channel must not lend its time
        add_events(
            session, other, [SignalEvent(SignalType.TRAINING_RUN, "churn/3", at(-90), model="churn", version="3")]
        )
    assert metrics(database, 30).model_age_days == pytest.approx((12 + 4) / 2)


def links(database: Database, source_id: str) -> dict[str, tuple[datetime | None, float | None]]:
    with database.sessions() as session:
        rows = session.execute(
            select(E.external_id, E.deployed_at, E.lead_seconds).where(E.source_id == source_id, E.type == "change")
        )
        return {r.external_id: (r.deployed_at, r.lead_seconds) for r in rows}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_events_stored_one_by_one_in_any_order_link_as_when_stored_together(database: Database, seed: int) -> None:
    history = list(HISTORY)
    random.Random(seed).shuffle(history)
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
    for event_ in history:
        with database.sessions.begin() as session:
            add_events(session, repo, [event_])
    one_by_one = links(database, "src-repo")
    with database.sessions.begin() as session:
        assert link_changes(session, {"src-repo": None}) == 0  # a whole relink finds nothing to change

    assert one_by_one["a1"] == (at(-19, 2), 28 * 3600)
    assert one_by_one["b1"] == (at(-19, 2), 6 * 3600)
    assert one_by_one["d1"] == (at(-5, 0.5), 0)
    assert one_by_one["e1"] == (None, None)  # only staging deployed it
    assert metrics(database, 30).lead_time_hours_p50 == pytest.approx(6)
