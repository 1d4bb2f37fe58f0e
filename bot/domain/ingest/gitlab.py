"""GitLab webhooks (X-Gitlab-Event): Deployment Hook, Push Hook, Issue Hook, Merge Request Hook, Pipeline Hook (checks).

Shapes: GitLab's "Webhook events" page (doc/user/project/integrations/webhook_events.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bot.domain.ingest import gitlab_reviews
from bot.domain.ingest.checks import GITLAB_STATUSES, check_event, matches_check
from bot.domain.ingest.common import (
    INCIDENT_LABEL,
    Parsed,
    PayloadError,
    commit_changes,
    has_label,
    ignored,
    items,
    mapping,
    optional,
    push_ref,
    root_cause,
    text,
    time_at,
)
from bot.domain.signals import SignalEvent, SignalType

EVENTS = ("Deployment Hook", "Push Hook", "Issue Hook", gitlab_reviews.MERGE_REQUEST_HOOK, "Pipeline Hook")
_OBJECT_KINDS = {
    "deployment": "Deployment Hook",
    "push": "Push Hook",
    "issue": "Issue Hook",
    gitlab_reviews.OBJECT_KIND: gitlab_reviews.MERGE_REQUEST_HOOK,
    "pipeline": "Pipeline Hook",
}
_DEPLOYMENT_STATUSES = {"success": SignalType.DEPLOYMENT, "failed": SignalType.DEPLOYMENT_FAILED}
_COMMIT_URL = re.compile(r"/commit/([0-9a-fA-F]{7,64})/?$")


def parse(event: str | None, payload: Any, environment: str, check_patterns: Sequence[str] = ()) -> Parsed:
    """The events one GitLab delivery carries.

    Args:
        event: the X-Gitlab-Event header (when absent, the payload's ``object_kind`` decides).
        payload: the decoded body.
        environment: the source's production environment; a deployment whose ``environment_tier``
            is ``production`` counts as one to it whatever the environment's name.
        check_patterns: a pipeline whose name contains one of them (in any case) is a check.

    Raises:
        PayloadError: a field the event needs is missing or malformed.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError("body", "not a JSON object")
    name = event or _OBJECT_KINDS.get(str(payload.get("object_kind")), "")
    if name == "Deployment Hook":
        return _deployment(payload, environment)
    if name == "Push Hook":
        return _push(payload)
    if name == "Issue Hook":
        return _issue(payload)
    if name == gitlab_reviews.MERGE_REQUEST_HOOK:
        return gitlab_reviews.merge_request(payload)
    if name == "Pipeline Hook":
        return _pipeline(payload, check_patterns)
    return ignored(f"event {name or 'without a name'!r} is not read by Compass")


def _deployment(payload: Mapping[str, Any], environment: str) -> Parsed:
    status = text(payload, "status").lower()
    kind = _DEPLOYMENT_STATUSES.get(status)
    if kind is None:
        # running, canceled, blocked: nothing went out, and nothing failed in production.
        return ignored(f"deployment status {status!r} is neither a deployment nor a failed one")
    named = text(payload, "environment")
    production = optional(payload, "environment_tier") == "production" or named == environment
    commit_url = optional(payload, "commit_url")
    match = _COMMIT_URL.search(commit_url) if isinstance(commit_url, str) else None
    sha = match.group(1) if match else text(payload, "short_sha")
    event = SignalEvent(
        type=kind,
        external_id=f"{text(payload, 'deployment_id')}:{status}",
        at=time_at(payload, "status_changed_at"),
        environment=environment if production else named,
        sha=sha.lower(),
    )
    return Parsed((event,))


def _push(payload: Mapping[str, Any]) -> Parsed:
    commits = items(payload, "commits")
    if not commits:
        return ignored("a push without commits (a branch or tag created or deleted)")
    head = text(payload, "after").lower()
    events = commit_changes(commits, head, None, push_ref(payload))
    # GitLab sends no push time: the head commit's own time stands in for it.
    pushed_at = next((e.at for e in events if e.sha == head), None)
    return Parsed(tuple(replace(e, pushed_at=pushed_at) for e in events))


def _issue(payload: Mapping[str, Any]) -> Parsed:
    attributes = mapping(payload, "object_attributes")
    action = text(payload, "object_attributes.action")
    if action not in ("open", "close", "reopen", "update"):
        return ignored(f"issue action {action!r} does not open or close an incident")
    labels = payload.get("labels") if payload.get("labels") is not None else attributes.get("labels")
    if not has_label(labels, INCIDENT_LABEL, "title"):
        return ignored("an issue without the label 'incident'")
    project = optional(payload, "project.path_with_namespace")
    number = text(payload, "object_attributes.iid")
    incident = f"{project}#{number}" if isinstance(project, str) else f"#{number}"
    cause = root_cause(attributes.get("description"))
    opened = SignalEvent(
        SignalType.INCIDENT_OPENED, incident, time_at(payload, "object_attributes.created_at"), root_cause=cause
    )
    closed = action == "close" or (action == "update" and attributes.get("state") == "closed")
    if not closed:
        return Parsed((opened,))
    # Older GitLab versions send no closed_at; the update that closed the issue is then the time.
    field = "object_attributes.closed_at" if attributes.get("closed_at") else "object_attributes.updated_at"
    resolved = SignalEvent(SignalType.INCIDENT_RESOLVED, incident, time_at(payload, field), root_cause=cause)
    return Parsed((opened, resolved))


def _pipeline(payload: Mapping[str, Any], check_patterns: Sequence[str]) -> Parsed:
    # object_attributes.name is the pipeline's workflow:name, sent since GitLab 16.1; a pipeline
    # without one (older GitLab, or no workflow:name) cannot be told apart from any other.
    name = optional(payload, "object_attributes.name")
    if not isinstance(name, str) or not name.strip():
        return ignored("a pipeline without a name (object_attributes.name, GitLab 16.1+) matches no check")
    name = name.strip()
    if not matches_check(name, check_patterns):
        return ignored(f"pipeline {name!r} matches no check pattern")
    status = text(payload, "object_attributes.status").lower()
    result = GITLAB_STATUSES.get(status)
    if result is None:
        return ignored(f"pipeline status {status!r} is neither passed nor failed")
    # One event per pipeline and result: a failed pipeline retried to success is both, in turn.
    external_id = f"{text(payload, 'object_attributes.id')}:{status}"
    field = (
        "object_attributes.finished_at"
        if optional(payload, "object_attributes.finished_at")
        else "object_attributes.created_at"
    )
    sha = optional(payload, "object_attributes.sha")
    event = check_event(
        external_id, time_at(payload, field), name, result, sha.lower() if isinstance(sha, str) else None
    )
    return Parsed((event,))
