"""GitHub webhooks (X-GitHub-Event): deployment_status, push, issues, workflow_run, pull requests and reviews.

Shapes: GitHub's "Webhook events and payloads" and the octokit/webhooks payload schemas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.ingest import github_reviews
from bot.domain.ingest.checks import GITHUB_CONCLUSIONS, check_event, matches_check
from bot.domain.ingest.common import (
    INCIDENT_LABEL,
    Parsed,
    PayloadError,
    commit_changes,
    get,
    has_label,
    ignored,
    items,
    mapping,
    optional,
    parse_time,
    push_ref,
    root_cause,
    text,
    time_at,
)
from bot.domain.signals import SignalEvent, SignalType

PING = "ping"
EVENTS = ("deployment_status", "push", "issues", "workflow_run", "pull_request", "pull_request_review")

_DEPLOYMENT_STATES = {
    "success": SignalType.DEPLOYMENT,
    "failure": SignalType.DEPLOYMENT_FAILED,
    "error": SignalType.DEPLOYMENT_FAILED,
}
_INCIDENT_ACTIONS = ("opened", "closed", "labeled", "reopened", "edited")


def parse(event: str, payload: Any, training_pattern: str, check_patterns: Sequence[str] = ()) -> Parsed:
    """The events one GitHub delivery carries.

    Args:
        event: the X-GitHub-Event header.
        payload: the decoded body.
        training_pattern: a workflow whose name contains it (in any case) is a training pipeline.
        check_patterns: a workflow whose name contains one of them (in any case) is a check.

    Raises:
        PayloadError: a field the event needs is missing or malformed.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError("body", "not a JSON object")
    if event == "deployment_status":
        return _deployment_status(payload)
    if event == "push":
        return _push(payload)
    if event == "issues":
        return _issue(payload)
    if event == "workflow_run":
        return _workflow_run(payload, training_pattern, check_patterns)
    if event == github_reviews.PULL_REQUEST:
        return github_reviews.pull_request(payload)
    if event == github_reviews.PULL_REQUEST_REVIEW:
        return github_reviews.pull_request_review(payload)
    return ignored(f"event {event!r} is not read by Compass")


def _deployment_status(payload: Mapping[str, Any]) -> Parsed:
    state = text(payload, "deployment_status.state").lower()
    kind = _DEPLOYMENT_STATES.get(state)
    if kind is None:
        return ignored(f"deployment state {state!r} is neither a deployment nor a failed one")
    deployment = mapping(payload, "deployment")
    event = SignalEvent(
        type=kind,
        external_id=f"{text(deployment, 'id')}:{state}",
        at=time_at(payload, "deployment_status.created_at"),
        environment=text(payload, "deployment.environment"),
        sha=text(payload, "deployment.sha").lower(),
    )
    return Parsed((event,))


def _push(payload: Mapping[str, Any]) -> Parsed:
    commits = items(payload, "commits")
    if not commits:
        return ignored("a push without commits (a branch or tag created or deleted)")
    head = text(payload, "after").lower()
    pushed_at = None
    if optional(payload, "head_commit.timestamp") is not None:
        pushed_at = time_at(payload, "head_commit.timestamp")
    elif optional(payload, "repository.pushed_at") is not None:
        # An integer (epoch seconds) in push events, an ISO string elsewhere.
        pushed_at = parse_time(get(payload, "repository.pushed_at"), "repository.pushed_at")
    events = commit_changes(commits, head, pushed_at, push_ref(payload))
    return Parsed(tuple(events))


def _incident_id(payload: Mapping[str, Any]) -> str:
    number = text(payload, "issue.number")
    repository = optional(payload, "repository.full_name")
    return f"{repository}#{number}" if isinstance(repository, str) else f"#{number}"


def _issue(payload: Mapping[str, Any]) -> Parsed:
    action = text(payload, "action")
    if action not in _INCIDENT_ACTIONS:
        return ignored(f"issue action {action!r} does not open or close an incident")
    issue = mapping(payload, "issue")
    if not has_label(issue.get("labels"), INCIDENT_LABEL, "name"):
        return ignored("an issue without the label 'incident'")
    incident = _incident_id(payload)
    cause = root_cause(issue.get("body"))
    opened = SignalEvent(SignalType.INCIDENT_OPENED, incident, time_at(payload, "issue.created_at"), root_cause=cause)
    if action == "closed" or (action in ("labeled", "edited") and issue.get("state") == "closed"):
        resolved = SignalEvent(
            SignalType.INCIDENT_RESOLVED, incident, time_at(payload, "issue.closed_at"), root_cause=cause
        )
        return Parsed((opened, resolved))
    return Parsed((opened,))


def workflow_name(payload: Mapping[str, Any]) -> str | None:
    """The workflow's name: ``workflow_run.name``, else ``workflow.name``; None when neither has one.

    GitHub's own examples (octokit/webhooks payload-examples) leave ``workflow_run.name`` empty
    and name the workflow in ``workflow``. ``display_title`` is not a fallback: it is the run's
    title (a commit message or pull request title), and "retrain" in a commit message would make
    any workflow a training run.
    """
    for path in ("workflow_run.name", "workflow.name"):
        value = optional(payload, path)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _workflow_run(payload: Mapping[str, Any], training_pattern: str, check_patterns: Sequence[str]) -> Parsed:
    action = text(payload, "action")
    if action != "completed":
        return ignored(f"workflow run action {action!r}: only completed runs count")
    name = workflow_name(payload)
    if name is None:
        return ignored("a workflow run without a name (workflow_run.name, workflow.name) matches no pattern")
    training = matches_training(name, training_pattern)
    check = matches_check(name, check_patterns)
    if not training and not check:
        return ignored(f"workflow {name!r} matches neither the training pattern {training_pattern!r} nor a check")
    conclusion = optional(payload, "workflow_run.conclusion")
    run = mapping(payload, "workflow_run")
    attempt = run.get("run_attempt") or 1
    external_id = f"{text(run, 'id')}:{attempt}"
    at_field = "workflow_run.updated_at" if run.get("updated_at") else "workflow_run.created_at"
    sha = str(run["head_sha"]).lower() if run.get("head_sha") else None
    events = []
    if training and conclusion == "success":
        events.append(
            SignalEvent(SignalType.TRAINING_RUN, external_id, time_at(payload, at_field), sha=sha, model=name)
        )
    status = GITHUB_CONCLUSIONS.get(str(conclusion))
    if check and status is not None:
        events.append(check_event(external_id, time_at(payload, at_field), name, status, sha))
    if not events:
        what = "training run" if training else "check"
        return ignored(f"{what} concluded {conclusion!r}: only successful (or, for checks, failed) runs count")
    return Parsed(tuple(events))


def matches_training(name: str, pattern: str) -> bool:
    """A workflow is a training pipeline when its name contains the pattern, in any case."""
    return bool(pattern) and pattern.casefold() in name.casefold()
