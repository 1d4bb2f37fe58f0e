"""Checks as each sender reports them: the generic events API's ``check`` type, GitHub's own
``workflow_run`` examples (octokit/webhooks) and GitLab's documented Pipeline Hook example."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from signal_payloads import SHA_B, github_workflow_run

from bot.domain.ingest import events, github, gitlab
from bot.domain.ingest.common import PayloadError
from bot.domain.signals import SignalType

WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "webhooks"


def example(sender: str, name: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / sender / name).read_text(encoding="utf-8"))


CHECK = {"type": "check", "id": "ge-812", "at": "2026-11-30T14:05:00Z", "check": "data validation", "status": "passed"}


# --- the generic events API ------------------------------------------------------------------


def test_a_check_event_with_a_value() -> None:
    (event,) = events.parse({**CHECK, "status": "FAILED", "value": 71.5, "service": "churn"}).events
    assert (event.type, event.external_id, event.name, event.status, event.value) == (
        SignalType.CHECK,
        "ge-812",
        "data validation",
        "failed",
        71.5,
    )
    assert event.at == datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    (plain,) = events.parse(CHECK).events
    assert (plain.status, plain.value) == ("passed", None)
    (whole,) = events.parse({**CHECK, "value": 80}).events
    assert whole.value == 80.0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"check": None}, "check: missing"),
        ({"check": "  "}, "check: empty"),
        ({"check": 7.5}, "check: not a string"),
        ({"check": "x" * 256}, "check: longer than 255 characters"),
        ({"status": None}, "status: missing"),
        ({"status": "skipped"}, "status: 'skipped' is neither 'passed' nor 'failed'"),
        ({"status": True}, "status: not a string"),
        ({"value": "80"}, "value: not a finite number"),
        ({"value": True}, "value: not a finite number"),
        ({"value": math.nan}, "value: not a finite number"),
        ({"value": math.inf}, "value: not a finite number"),
        ({"value": 10**400}, "value: not a finite number"),
        ({"value": [80]}, "value: not a finite number"),
        ({"at": "yesterday"}, "at: not an ISO 8601 time"),
        ({"id": None}, "id: missing"),
    ],
)
def test_a_bad_check_field_is_named(change: dict[str, Any], expected: str) -> None:
    item = {k: v for k, v in {**CHECK, **change}.items() if v is not None}
    with pytest.raises(PayloadError) as raised:
        events.parse(item)
    assert str(raised.value) == expected
    with pytest.raises(PayloadError) as in_array:
        events.parse([CHECK, item])
    assert str(in_array.value) == f"[1].{expected}"


def test_python_json_reads_nan_so_the_body_as_sent_is_refused_too() -> None:
    with pytest.raises(PayloadError, match="value: not a finite number"):
        events.parse(
            json.loads(
                '{"type": "check", "id": "1", "at": "2026-11-30T14:05:00Z", '
                '"check": "coverage", "status": "passed", "value": NaN}'
            )
        )


def test_an_array_of_a_thousand_checks_and_no_more() -> None:
    batch = [{**CHECK, "id": f"run-{i}"} for i in range(1000)]
    assert len(events.parse(batch).events) == 1000
    with pytest.raises(PayloadError, match="more than 1000 events"):
        events.parse([*batch, CHECK])


# --- GitHub: its own workflow_run examples ---------------------------------------------------


def test_githubs_examples_name_the_workflow_in_workflow_not_workflow_run() -> None:
    payload = example("github", "workflow_run.completed.json")
    assert payload["workflow_run"]["name"] == "" and payload["workflow"]["name"] == "test"
    assert github.workflow_name(payload) == "test"
    ignored = github.parse("workflow_run", payload, "train")
    assert ignored.ignored == "workflow 'test' matches neither the training pattern 'train' nor a check"


def test_githubs_completed_example_is_a_check_a_training_run_or_both() -> None:
    payload = example("github", "workflow_run.completed.json")
    (check,) = github.parse("workflow_run", payload, "train", ("data validation", "TEST")).events
    assert (check.type, check.name, check.status, check.external_id) == (
        SignalType.CHECK,
        "test",
        "passed",
        "289782451:1",
    )
    assert check.at == datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC)
    assert check.sha == payload["workflow_run"]["head_sha"]
    both = github.parse("workflow_run", payload, "tes", ("test",)).events
    assert [(e.type, e.name or e.model) for e in both] == [
        (SignalType.TRAINING_RUN, "test"),
        (SignalType.CHECK, "test"),
    ]
    pulls = github.parse(
        "workflow_run", example("github", "workflow_run.completed.with-pull-requests.json"), "x", ("test",)
    )
    assert [e.status for e in pulls.events] == ["passed"]


def test_githubs_requested_example_is_ignored() -> None:
    parsed = github.parse("workflow_run", example("github", "workflow_run.requested.json"), "train", ("test",))
    assert parsed.ignored == "workflow run action 'requested': only completed runs count"


@pytest.mark.parametrize(
    ("conclusion", "status"),
    [("success", "passed"), ("failure", "failed"), ("timed_out", "failed")],
)
def test_a_check_workflows_conclusion_is_its_status(conclusion: str, status: str) -> None:
    (event,) = github.parse(
        "workflow_run", github_workflow_run("Model tests", conclusion), "train", ("model tests",)
    ).events
    assert (event.type, event.name, event.status, event.sha) == (SignalType.CHECK, "Model tests", status, SHA_B)


@pytest.mark.parametrize("conclusion", ["cancelled", "skipped", "neutral", "stale", "action_required"])
def test_a_run_that_said_nothing_is_no_check(conclusion: str) -> None:
    parsed = github.parse("workflow_run", github_workflow_run("Model tests", conclusion), "train", ("model tests",))
    assert parsed.ignored is not None and conclusion in parsed.ignored


def test_a_failed_training_workflow_that_is_also_a_check_is_only_a_failed_check() -> None:
    payload = github_workflow_run("Train and validate", "failure")
    (event,) = github.parse("workflow_run", payload, "train", ("validate",)).events
    assert (event.type, event.status) == (SignalType.CHECK, "failed")


def test_a_workflow_run_without_any_name_is_ignored() -> None:
    payload = github_workflow_run("Model tests")
    payload["workflow_run"]["name"] = None
    payload["workflow"] = None
    assert github.parse("workflow_run", payload, "train", ("model",)).ignored is not None


# --- GitLab: its documented Pipeline Hook example --------------------------------------------


def test_gitlabs_pipeline_example_is_a_check_when_its_name_matches() -> None:
    payload = example("gitlab", "pipeline_hook.json")
    (check,) = gitlab.parse("Pipeline Hook", payload, "production", ("pipeline for branch",)).events
    assert (check.type, check.name, check.status, check.external_id) == (
        SignalType.CHECK,
        "Pipeline for branch: master",
        "passed",
        "31:success",
    )
    assert check.at == datetime(2016, 8, 12, 15, 26, 29, tzinfo=UTC)  # finished_at, GitLab's own format
    assert check.sha == "bcbb5ec396a2c0f828686f14fac9b80b780504f2"
    assert gitlab.parse(None, payload, "production", ("MASTER",)).events  # object_kind says it is a pipeline
    assert gitlab.parse("Pipeline Hook", payload, "production", ("data validation",)).ignored == (
        "pipeline 'Pipeline for branch: master' matches no check pattern"
    )
    assert gitlab.parse("Pipeline Hook", payload, "production").ignored is not None


@pytest.mark.parametrize(
    ("status", "result"),
    [("success", "passed"), ("failed", "failed"), ("running", None), ("canceled", None), ("skipped", None)],
)
def test_a_pipelines_status(status: str, result: str | None) -> None:
    payload = example("gitlab", "pipeline_hook.json")
    payload["object_attributes"]["status"] = status
    parsed = gitlab.parse("Pipeline Hook", payload, "production", ("master",))
    assert [e.status for e in parsed.events] == ([result] if result else [])
    if result:
        assert parsed.events[0].external_id == f"31:{status}"  # retried to success, a pipeline is both in turn


def test_a_pipeline_without_a_name_older_gitlab_is_ignored_and_a_bad_status_named() -> None:
    payload = example("gitlab", "pipeline_hook.json")
    del payload["object_attributes"]["name"]
    assert gitlab.parse("Pipeline Hook", payload, "production", ("master",)).ignored is not None
    payload = example("gitlab", "pipeline_hook.json")
    del payload["object_attributes"]["status"]
    with pytest.raises(PayloadError, match=r"^object_attributes\.status: missing$"):
        gitlab.parse("Pipeline Hook", payload, "production", ("master",))
