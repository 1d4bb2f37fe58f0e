"""Checks end to end over real HTTP against ``compass serve --http``, on SQLite and PostgreSQL:
GitHub's own workflow_run examples (octokit/webhooks) and GitLab's documented Pipeline Hook,
signed as they send them, to sources made with `compass signals add --checks`; checks through
the generic events API, good and bad; and what `compass signals show` then reports."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from harness import Reply
from signal_env import Env, Made, serving
from signal_payloads import github_headers, gitlab_headers

from bot.cli.main import main

WEBHOOKS = Path(__file__).resolve().parent / "data" / "webhooks"


def example(sender: str, name: str) -> str:
    """The documented example exactly as stored: posted byte for byte, not re-serialised."""
    return (WEBHOOKS / sender / name).read_text(encoding="utf-8")


def checks(env: Env, source_id: str) -> list[tuple[str, str, str | None, str | None, float | None]]:
    return [(r.type, r.external_id, r.name, r.status, r.value) for r in env.events(source_id)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with serving(request.param, tmp_path_factory.mktemp("checks")) as served:
        yield served


def gh(env: Env, made: Made, body: str, event: str = "workflow_run", delivery: str | None = None) -> Reply:
    return env.post(made.path, body, github_headers(made.secret, body, event, delivery))


# --- GitHub ----------------------------------------------------------------------------------


def test_githubs_own_workflow_run_examples_are_accepted_not_refused(env: Env) -> None:
    made = env.add("github", channel="C0GHPLAIN")  # no check patterns; the training pattern "train"
    for name in ("workflow_run.completed.json", "workflow_run.completed.with-pull-requests.json"):
        reply = gh(env, made, example("github", name))
        assert (reply.status, reply.json()["detail"]) == (
            202,
            "workflow 'test' matches neither the training pattern 'train' nor a check",
        ), reply.body
    requested = gh(env, made, example("github", "workflow_run.requested.json"))
    assert requested.status == 202
    assert env.counts(made.id) == (0, 0)


def test_githubs_completed_example_is_a_check_stored_once(env: Env) -> None:
    made = env.add("github", "--checks", "data validation, TEST", channel="C0GHCHECKS")
    listed = env.cli("signals", "list", "--channel", "C0GHCHECKS")
    assert "checks: 'data validation', 'TEST'" in listed and made.id in listed
    body = example("github", "workflow_run.completed.json")
    delivery = str(uuid.uuid4())
    first = gh(env, made, body, delivery=delivery)
    assert (first.status, first.json()["events"]) == (200, 1), first.body
    again = gh(env, made, body, delivery=delivery)  # GitHub's redelivery: the same X-GitHub-Delivery
    assert (again.status, again.json()["outcome"]) == (200, "already stored")
    assert gh(env, made, example("github", "workflow_run.requested.json")).status == 202
    assert checks(env, made.id) == [("check", "289782451:1", "test", "passed", None)]
    assert env.counts(made.id) == (1, 1)


def test_a_workflow_that_is_both_a_training_run_and_a_check(env: Env) -> None:
    made = env.add("github", "--training-pattern", "tes", "--checks", "test", channel="C0GHBOTH")
    reply = gh(env, made, example("github", "workflow_run.completed.with-pull-requests.json"))
    assert (reply.status, reply.json()["events"]) == (200, 2)
    assert [(t, n) for t, _, n, _, _ in checks(env, made.id)] == [("training_run", None), ("check", "test")]


# --- GitLab ----------------------------------------------------------------------------------


def test_gitlabs_documented_pipeline_hook_is_a_check(env: Env) -> None:
    made = env.add("gitlab", "--checks", "pipeline for branch", channel="C0GLCHECKS")
    body = example("gitlab", "pipeline_hook.json")
    event_uuid = str(uuid.uuid4())
    first = env.post(made.path, body, gitlab_headers(made.secret, "Pipeline Hook", event_uuid))
    assert (first.status, first.json()["events"]) == (200, 1), first.body
    again = env.post(made.path, body, gitlab_headers(made.secret, "Pipeline Hook", event_uuid))
    assert (again.status, again.json()["outcome"]) == (200, "already stored")
    failed = json.loads(body)
    failed["object_attributes"]["status"] = "failed"
    assert env.post(made.path, json.dumps(failed), gitlab_headers(made.secret, "Pipeline Hook")).status == 200
    running = json.loads(body)
    running["object_attributes"]["status"] = "running"
    assert env.post(made.path, json.dumps(running), gitlab_headers(made.secret, "Pipeline Hook")).status == 202
    assert env.post(made.path, body, gitlab_headers("wrong-token", "Pipeline Hook")).status == 401
    assert checks(env, made.id) == [
        ("check", "31:success", "Pipeline for branch: master", "passed", None),
        ("check", "31:failed", "Pipeline for branch: master", "failed", None),
    ]
    other = env.add("gitlab", channel="C0GLPLAIN")  # no check patterns: the pipeline is read and ignored
    ignored = env.post(other.path, body, gitlab_headers(other.secret, "Pipeline Hook"))
    assert (ignored.status, ignored.json()["detail"]) == (
        202,
        "pipeline 'Pipeline for branch: master' matches no check pattern",
    )


# --- the generic events API ------------------------------------------------------------------


def check(run_id: str, name: str, status: str, when: datetime, **extra: Any) -> dict[str, Any]:
    return {"type": "check", "id": run_id, "at": when.isoformat(), "check": name, "status": status, **extra}


def test_checks_through_the_events_api_then_shown(env: Env) -> None:
    made = env.add("events", channel="C0CICHECKS")
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}
    now = datetime.now(UTC)
    batch = [
        check("ge-1", "Data validation (great_expectations)", "passed", now - timedelta(days=3), service="churn"),
        check("ge-2", "Data validation (great_expectations)", "failed", now - timedelta(days=2)),
        check("cov-1", "coverage", "passed", now - timedelta(days=1), value=83.5),
    ]
    stored = env.post(made.path, json.dumps(batch), bearer)
    assert (stored.status, stored.json()["events"]) == (200, 3), stored.body
    replay = env.post(made.path, json.dumps(batch), bearer)
    assert (replay.status, replay.json()["outcome"]) == (200, "already stored")
    one_again = env.post(made.path, json.dumps(batch[0]), bearer)  # the same event alone: a new delivery, no new event
    assert one_again.status == 200
    assert env.counts(made.id) == (2, 3)
    assert checks(env, made.id)[2] == ("check", "cov-1", "coverage", "passed", 83.5)

    shown = json.loads(env.cli("signals", "show", "--channel", "C0CICHECKS", "--json"))
    validation = shown["checks"]["Data validation (great_expectations)"]
    assert (validation["runs"], validation["passed"], validation["pass_rate"]) == (2, 1, 0.5)
    assert (validation["last_status"], validation["band"]) == ("failed", "few runs")
    assert (shown["checks"]["coverage"]["last_value"], shown["checks"]["coverage"]["runs"]) == (83.5, 1)
    text = env.cli("signals", "show", "--channel", "C0CICHECKS")
    assert "Check Data validation (great_expectations): 1/2 passed (few runs), latest failed" in text
    assert "Check coverage: 1/1 passed (few runs), latest passed" in text and "value 83.5" in text


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"check": None}, "[1].check: missing"),
        ({"check": ""}, "[1].check: empty"),
        ({"status": None}, "[1].status: missing"),
        ({"status": "green"}, "[1].status: 'green' is neither 'passed' nor 'failed'"),
        ({"value": "83%"}, "[1].value: not a finite number"),
        ({"value": False}, "[1].value: not a finite number"),
        ({"id": None}, "[1].id: missing"),
        ({"at": "last tuesday"}, "[1].at: not an ISO 8601 time"),
        ({"at": None}, "[1].at: missing"),
        ({"type": "checks"}, "[1].type: 'checks' is not one of"),
    ],
)
def test_every_bad_check_field_is_400_naming_it_and_nothing_is_stored(
    env: Env, change: dict[str, Any], detail: str
) -> None:
    made = env.add("events", channel="C0CIBAD")
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}
    good = check("ok-1", "model tests", "passed", datetime.now(UTC))
    bad = {k: v for k, v in {**good, "id": "bad-1", **change}.items() if v is not None}
    reply = env.post(made.path, json.dumps([good, bad]), bearer)
    assert reply.status == 400 and reply.json()["detail"].startswith(detail), reply.body
    assert env.counts(made.id) == (0, 0)


def test_a_value_of_nan_as_sent_is_refused(env: Env) -> None:
    made = env.add("events", channel="C0CINAN")
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}
    body = '{"type": "check", "id": "n", "at": "2026-11-30T10:00:00Z", "check": "coverage", "status": "passed", '
    for value in ("NaN", "Infinity", "-Infinity", "1e999"):
        reply = env.post(made.path, body + f'"value": {value}}}', bearer)
        assert (reply.status, reply.json()["detail"]) == (400, "value: not a finite number"), value
    assert env.counts(made.id) == (0, 0)


def test_an_array_of_a_thousand_checks_is_one_delivery_and_a_thousand_and_one_is_refused(env: Env) -> None:
    made = env.add("events", channel="C0CIMANY")
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}
    when = datetime.now(UTC) - timedelta(hours=1)
    batch = [check(f"run-{i}", f"check {i % 7}", "passed" if i % 3 else "failed", when, value=i) for i in range(1000)]
    assert env.post(made.path, json.dumps(batch), bearer).status == 200
    too_many = env.post(made.path, json.dumps([*batch, check("run-x", "x", "passed", when)]), bearer)
    assert (too_many.status, too_many.json()["detail"]) == (400, "body: more than 1000 events")
    assert env.counts(made.id) == (1, 1000)


def test_checks_backfilled_with_compass_signals_import(env: Env, tmp_path: Path) -> None:
    made = env.add("events", channel="C0CIIMPORT")
    when = datetime(2026, 11, 1, tzinfo=UTC)
    lines = tmp_path / "checks.jsonl"
    history = [check(f"old-{i}", "fairness", "passed", when + timedelta(days=i), value=0.02) for i in range(6)]
    lines.write_text("\n".join(json.dumps(h) for h in history) + "\n", encoding="utf-8")
    assert "imported 6 event(s)" in env.cli("signals", "import", str(lines), "--source", made.id)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(history[0]) + "\n" + json.dumps({**history[1], "status": "ok"}) + "\n")
    result = CliRunner().invoke(
        main, ["signals", "import", str(broken), "--source", made.id], env={"DATABASE_URL": env.url}
    )
    assert result.exit_code == 1 and "line 2: status: 'ok' is neither 'passed' nor 'failed'" in result.output
    assert [(n, s, v) for _, _, n, s, v in checks(env, made.id)] == [("fairness", "passed", 0.02)] * 6
