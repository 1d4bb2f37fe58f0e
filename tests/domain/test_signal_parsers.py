"""The parsers and signature checks of delivery signals, on payloads shaped as each sender sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from signal_payloads import (
    SHA_A,
    SHA_B,
    dumps,
    github_deployment_status,
    github_issue,
    github_push,
    github_workflow_run,
    gitlab_deployment,
    gitlab_issue,
    gitlab_push,
    mlflow_alias_created,
    mlflow_headers,
    mlflow_model_version_created,
)

from bot.domain.ingest import events, github, gitlab, mlflow
from bot.domain.ingest.common import PayloadError, parse_time
from bot.domain.ingest.signatures import (
    github_signature,
    github_signature_matches,
    hash_token,
    mlflow_problem,
    token_matches,
)
from bot.domain.signals import SignalType


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- signatures ------------------------------------------------------------------------------


def test_github_signature_matches_githubs_documented_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github_signature("It's a Secret to Everybody", b"Hello, World!") == expected
    assert github_signature_matches("It's a Secret to Everybody", b"Hello, World!", expected)


def test_github_signature_refuses_another_body_secret_or_none() -> None:
    good = github_signature("s3cret", b"{}")
    assert not github_signature_matches("s3cret", b"{} ", good)
    assert not github_signature_matches("other", b"{}", good)
    assert not github_signature_matches("s3cret", b"{}", None)
    assert not github_signature_matches("s3cret", b"{}", good.replace("sha256=", "sha1="))


def test_tokens_are_stored_hashed_and_compared_to_the_hash() -> None:
    stored = hash_token("tok-123")
    assert stored.startswith("sha256:") and "tok-123" not in stored
    assert token_matches(stored, "tok-123")
    assert not token_matches(stored, "tok-124")
    assert not token_matches(stored, None)
    assert not token_matches("tok-123", "tok-123")  # a plain stored value is never accepted


def test_mlflow_signature_signs_delivery_id_timestamp_and_body() -> None:
    body = dumps(mlflow_model_version_created())
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    headers = {k.lower(): v for k, v in mlflow_headers("whsec", body, "d-1", int(now.timestamp())).items()}
    assert mlflow_problem("whsec", body.encode(), headers, now) is None
    assert mlflow_problem("other", body.encode(), headers, now) == "bad X-MLflow-Signature"
    assert mlflow_problem("whsec", body.encode() + b" ", headers, now) == "bad X-MLflow-Signature"
    forged_id = {**headers, "x-mlflow-delivery-id": "d-2"}
    assert mlflow_problem("whsec", body.encode(), forged_id, now) == "bad X-MLflow-Signature"


def test_mlflow_signature_refuses_a_stale_or_missing_timestamp() -> None:
    body = b"{}"
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    old = int((now - timedelta(minutes=6)).timestamp())
    headers = {k.lower(): v for k, v in mlflow_headers("whsec", "{}", "d-1", old).items()}
    assert mlflow_problem("whsec", body, headers, now) == "stale X-MLflow-Timestamp"
    assert mlflow_problem("whsec", body, headers, now - timedelta(minutes=2)) is None
    del headers["x-mlflow-timestamp"]
    assert "missing" in (mlflow_problem("whsec", body, headers, now) or "")


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-04-28 21:50:00 +0200", "2021-04-28T19:50:00+00:00"),
        ("2013-12-03 17:15:43 UTC", "2013-12-03T17:15:43+00:00"),
        ("2026-11-30T09:00:00+01:00", "2026-11-30T08:00:00+00:00"),
        ("2026-11-30T09:00:00Z", "2026-11-30T09:00:00+00:00"),
        ("2026-11-30T09:00:00", "2026-11-30T09:00:00+00:00"),
        (1764495000, "2025-11-30T09:30:00+00:00"),
    ],
)
def test_times_in_every_senders_format_become_utc(raw: object, expected: str) -> None:
    assert parse_time(raw, "at") == datetime.fromisoformat(expected)


def test_a_time_that_is_not_one_names_its_field() -> None:
    with pytest.raises(PayloadError, match="status_changed_at: not an ISO 8601 time"):
        parse_time("yesterday", "status_changed_at")


# --- GitHub ----------------------------------------------------------------------------------


def test_github_successful_deployment_status_is_a_deployment() -> None:
    (event,) = github.parse("deployment_status", github_deployment_status("success"), "train").events
    assert event.type is SignalType.DEPLOYMENT
    assert (event.sha, event.environment, event.at) == (SHA_B, "production", at("2026-11-30T11:05:00+00:00"))
    assert event.external_id == "145988746:success"


@pytest.mark.parametrize("state", ["failure", "error"])
def test_github_failed_deployment_status_is_a_failed_deployment(state: str) -> None:
    (event,) = github.parse("deployment_status", github_deployment_status(state), "train").events
    assert event.type is SignalType.DEPLOYMENT_FAILED


def test_github_pending_deployment_status_is_ignored() -> None:
    parsed = github.parse("deployment_status", github_deployment_status("pending"), "train")
    assert parsed.events == () and "pending" in (parsed.ignored or "")


def test_github_deployment_status_without_its_sha_names_the_field() -> None:
    payload = github_deployment_status()
    del payload["deployment"]["sha"]
    with pytest.raises(PayloadError, match=r"^deployment\.sha: missing"):
        github.parse("deployment_status", payload, "train")


def test_github_push_is_one_change_per_commit_with_the_head_and_push_time() -> None:
    changes = github.parse("push", github_push(), "train").events
    assert [(c.type, c.sha, c.at) for c in changes] == [
        (SignalType.CHANGE, SHA_A, at("2026-11-30T08:00:00+00:00")),
        (SignalType.CHANGE, SHA_B, at("2026-11-30T09:30:00+00:00")),
    ]
    assert {c.head for c in changes} == {SHA_B}
    assert {c.pushed_at for c in changes} == {at("2026-11-30T09:30:00+00:00")}  # head_commit.timestamp


def test_github_push_without_head_commit_takes_the_repositorys_epoch_pushed_at() -> None:
    payload = github_push()
    payload["head_commit"] = None
    (first, _) = github.parse("push", payload, "train").events
    assert first.pushed_at == datetime.fromtimestamp(1764495000, UTC)


def test_github_push_deleting_a_branch_is_ignored_and_a_bad_commit_is_named() -> None:
    assert github.parse("push", github_push(commits=[], after="0" * 40), "train").ignored
    payload = github_push()
    del payload["commits"][1]["timestamp"]
    with pytest.raises(PayloadError, match=r"^commits\[1\]\.timestamp: missing"):
        github.parse("push", payload, "train")


def test_github_incident_issue_opens_and_closes_with_its_root_cause() -> None:
    (opened,) = github.parse("issues", github_issue("opened"), "train").events
    assert (opened.type, opened.external_id, opened.root_cause) == (
        SignalType.INCIDENT_OPENED,
        "acme/churn-model#42",
        SHA_B,
    )
    assert opened.at == at("2026-11-30T12:00:00+00:00")
    events_ = github.parse("issues", github_issue("closed"), "train").events
    assert [e.type for e in events_] == [SignalType.INCIDENT_OPENED, SignalType.INCIDENT_RESOLVED]
    assert events_[1].at == at("2026-11-30T15:00:00+00:00")


def test_github_issue_label_is_matched_in_any_case_and_others_are_ignored() -> None:
    assert github.parse("issues", github_issue("labeled", label="INCIDENT"), "train").events
    parsed = github.parse("issues", github_issue("opened", label="bug"), "train")
    assert parsed.events == () and "incident" in (parsed.ignored or "")
    assert github.parse("issues", github_issue("opened", body="no cause yet"), "train").events[0].root_cause is None


def test_github_completed_training_workflow_is_a_training_run() -> None:
    (run,) = github.parse("workflow_run", github_workflow_run("Nightly TRAINING"), "train").events
    assert (run.type, run.model, run.external_id) == (SignalType.TRAINING_RUN, "Nightly TRAINING", "30433642:1")
    assert run.at == at("2026-11-30T03:10:00+00:00")


def test_github_other_workflows_and_failed_runs_are_ignored() -> None:
    assert github.parse("workflow_run", github_workflow_run("CI"), "train").ignored
    assert github.parse("workflow_run", github_workflow_run("train", conclusion="failure"), "train").ignored
    assert github.parse("workflow_run", github_workflow_run("CI lint"), "lint").events


def test_github_other_events_are_ignored_with_a_reason() -> None:
    assert github.parse("star", {"action": "created"}, "train").ignored == "event 'star' is not read by Compass"


# --- GitLab ----------------------------------------------------------------------------------


def test_gitlab_production_deployment_with_gitlabs_time_format_and_full_sha() -> None:
    (event,) = gitlab.parse("Deployment Hook", gitlab_deployment(), "production").events
    assert event.type is SignalType.DEPLOYMENT
    assert (event.sha, event.at, event.external_id) == (SHA_B, at("2021-04-28T19:50:00+00:00"), "15:success")
    assert event.environment == "production"


def test_gitlab_production_tier_counts_whatever_the_environment_is_called() -> None:
    (event,) = gitlab.parse("Deployment Hook", gitlab_deployment(environment="prod-eu"), "production").events
    assert event.environment == "production"
    (staging,) = gitlab.parse(
        "Deployment Hook", gitlab_deployment(tier="staging", environment="staging"), "production"
    ).events
    assert staging.environment == "staging"


def test_gitlab_failed_deployment_and_short_sha_without_commit_url() -> None:
    payload = gitlab_deployment("failed")
    payload["commit_url"] = None
    (event,) = gitlab.parse("Deployment Hook", payload, "production").events
    assert (event.type, event.sha) == (SignalType.DEPLOYMENT_FAILED, SHA_B[:8])


def test_gitlab_running_and_canceled_deployments_are_ignored() -> None:
    assert gitlab.parse("Deployment Hook", gitlab_deployment("running"), "production").ignored
    assert gitlab.parse("Deployment Hook", gitlab_deployment("canceled"), "production").ignored


def test_gitlab_push_changes_take_the_head_commits_time_as_push_time() -> None:
    changes = gitlab.parse("Push Hook", gitlab_push(), "production").events
    assert [c.sha for c in changes] == [SHA_A, SHA_B]
    assert {c.pushed_at for c in changes} == {at("2012-01-03T21:36:29+00:00")}
    assert {c.head for c in changes} == {SHA_B}


def test_gitlab_incident_issue_with_root_cause() -> None:
    (opened,) = gitlab.parse("Issue Hook", gitlab_issue("open"), "production").events
    assert (opened.external_id, opened.root_cause) == ("acme/churn-model#23", SHA_A[:12])
    closed = gitlab.parse("Issue Hook", gitlab_issue("close"), "production").events
    assert closed[1].type is SignalType.INCIDENT_RESOLVED
    assert closed[1].at == at("2013-12-03T19:15:43+00:00")
    assert gitlab.parse("Issue Hook", gitlab_issue("open", label="bug"), "production").ignored


def test_gitlab_deployment_without_status_changed_at_names_it() -> None:
    payload = gitlab_deployment()
    del payload["status_changed_at"]
    with pytest.raises(PayloadError, match="^status_changed_at: missing"):
        gitlab.parse("Deployment Hook", payload, "production")


def test_gitlab_event_name_falls_back_to_object_kind() -> None:
    assert gitlab.parse(None, gitlab_push(), "production").events


# --- MLflow ----------------------------------------------------------------------------------


def test_mlflow_new_model_version_is_a_training_run() -> None:
    (run,) = mlflow.parse(mlflow_model_version_created(), ("production", "champion")).events
    assert (run.type, run.model, run.version, run.external_id) == (SignalType.TRAINING_RUN, "churn", "7", "churn/7")
    assert run.at == datetime(2026, 11, 30, 3, 20, 0, 123456, tzinfo=UTC)


def test_mlflow_serving_alias_is_a_model_deployment_and_others_are_ignored() -> None:
    (deployed,) = mlflow.parse(mlflow_alias_created(alias="Champion"), ("production", "champion")).events
    assert (deployed.type, deployed.model, deployed.version, deployed.version_at) == (
        SignalType.MODEL_DEPLOYED,
        "churn",
        "7",
        None,
    )
    assert mlflow.parse(mlflow_alias_created(alias="challenger"), ("production", "champion")).ignored
    tag = {"entity": "model_version_tag", "action": "set", "timestamp": "2026-11-30T09:00:00Z", "data": {}}
    assert mlflow.parse(tag, ("champion",)).ignored


def test_mlflow_alias_without_version_names_the_field() -> None:
    payload = mlflow_alias_created()
    del payload["data"]["version"]
    with pytest.raises(PayloadError, match=r"^data\.version: missing"):
        mlflow.parse(payload, ("champion",))


# --- generic events --------------------------------------------------------------------------


def test_generic_events_one_object_or_an_array() -> None:
    (one,) = events.parse(
        {"type": "deployment", "id": "b-1", "at": "2026-11-30T10:00:00Z", "service": "api", "sha": SHA_A.upper()}
    ).events
    assert (one.type, one.sha, one.environment) == (SignalType.DEPLOYMENT, SHA_A, None)
    many = events.parse(
        [
            {"type": "change", "id": SHA_A, "at": "2026-11-30T09:00:00Z", "sha": SHA_A, "head": SHA_B},
            {"type": "incident_opened", "id": "INC-1", "at": "2026-11-30T11:00:00Z", "root_cause": SHA_A},
            {"type": "training_run", "id": "r-9", "at": "2026-11-30T01:00:00Z", "model": "churn"},
            {
                "type": "model_deployed",
                "id": "m-1",
                "at": "2026-11-30T12:00:00Z",
                "model": "churn",
                "version": 7,
                "version_created_at": "2026-11-29T12:00:00Z",
            },
        ]
    ).events
    assert [e.type for e in many] == [
        SignalType.CHANGE,
        SignalType.INCIDENT_OPENED,
        SignalType.TRAINING_RUN,
        SignalType.MODEL_DEPLOYED,
    ]
    assert many[0].head == SHA_B and many[1].root_cause == SHA_A
    assert many[3].version == "7" and many[3].version_at == at("2026-11-29T12:00:00+00:00")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"id": "1", "at": "2026-11-30T10:00:00Z"}, "^type: missing"),
        ({"type": "deploy", "id": "1", "at": "2026-11-30T10:00:00Z"}, "^type: 'deploy' is not one of"),
        # kinds only their own senders' webhooks carry: a clear 400, not a server error
        ({"type": "alert_firing", "id": "1", "at": "2026-11-30T10:00:00Z"}, "^type: 'alert_firing' is not one of"),
        ({"type": "reviewed", "id": "1", "at": "2026-11-30T10:00:00Z"}, "^type: 'reviewed' is not one of"),
        ({"type": "model_documented", "id": "1", "at": "2026-11-30T10:00:00Z"}, "^type: 'model_documented' is not"),
        ({"type": "deployment", "id": "1", "at": "2026-11-30T10:00:00Z"}, "^sha: missing"),
        ({"type": "training_run", "id": "1", "at": "noon", "model": "m"}, "^at: not an ISO 8601 time"),
        ({"type": "model_deployed", "id": "1", "at": "2026-11-30T10:00:00Z", "model": "m"}, "^version: missing"),
        ([{"type": "change", "id": "1", "at": "2026-11-30T10:00:00Z"}], r"^\[0\]\.sha: missing"),
        ([], "^body: an empty array"),
        ("deployment", "^event: not a JSON object"),
    ],
)
def test_generic_events_name_the_missing_or_bad_field(payload: object, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        events.parse(payload)
