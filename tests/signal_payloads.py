"""Webhook payloads shaped as GitHub, GitLab and MLflow send them, and how each signs them.

Built from the documented shapes (GitHub's "Webhook events and payloads" and the
octokit/webhooks schemas; GitLab's "Webhook events"; mlflow/webhooks/delivery.py), trimmed
of fields Compass does not read only where they are long (user objects, URLs), not where they
might confuse a parser. Shared by the parser tests, the end-to-end tests and bench/.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

SHA_A = "7c3b6f0e9a1d2c4b5e6f708192a3b4c5d6e7f809"
SHA_B = "9f1c2d3e4b5a69788796a5b4c3d2e1f00f1e2d3c"

_REPO = {
    "id": 1296269,
    "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
    "name": "churn-model",
    "full_name": "acme/churn-model",
    "private": False,
    "owner": {"login": "acme", "id": 1, "type": "Organization"},
    "html_url": "https://github.com/acme/churn-model",
    "default_branch": "main",
}
_SENDER = {"login": "octocat", "id": 583231, "type": "User", "site_admin": False}


def github_push(commits: list[tuple[str, str]] | None = None, after: str = SHA_B) -> dict[str, Any]:
    """A push event: ``commits`` as (sha, ISO time); the last one is the head."""
    commits = (
        commits if commits is not None else [(SHA_A, "2026-11-30T09:00:00+01:00"), (SHA_B, "2026-11-30T10:30:00+01:00")]
    )
    listed = [
        {
            "id": sha,
            "tree_id": hashlib.sha1(sha.encode()).hexdigest(),
            "distinct": True,
            "message": f"Change {i}",
            "timestamp": at,
            "url": f"https://github.com/acme/churn-model/commit/{sha}",
            "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
            "committer": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
            "added": [],
            "removed": [],
            "modified": ["train.py"],
        }
        for i, (sha, at) in enumerate(commits)
    ]
    return {
        "ref": "refs/heads/main",
        "before": "0" * 40 if not commits else "1" * 40,
        "after": after,
        "repository": {**_REPO, "pushed_at": 1764495000, "created_at": 1600000000},
        "pusher": {"name": "mona", "email": "mona@example.com"},
        "sender": _SENDER,
        "created": False,
        "deleted": not commits,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/acme/churn-model/compare/111...999",
        "commits": listed,
        "head_commit": listed[-1] if listed else None,
    }


def github_deployment_status(
    state: str = "success",
    environment: str = "production",
    sha: str = SHA_B,
    deployment_id: int = 145988746,
    created_at: str = "2026-11-30T11:05:00Z",
) -> dict[str, Any]:
    deployment = {
        "url": f"https://api.github.com/repos/acme/churn-model/deployments/{deployment_id}",
        "id": deployment_id,
        "node_id": "DE_kwDOAAAAAA",
        "sha": sha,
        "ref": "main",
        "task": "deploy",
        "payload": {},
        "original_environment": environment,
        "environment": environment,
        "description": None,
        "creator": _SENDER,
        "created_at": "2026-11-30T11:00:00Z",
        "updated_at": "2026-11-30T11:05:00Z",
        "statuses_url": f"https://api.github.com/repos/acme/churn-model/deployments/{deployment_id}/statuses",
        "repository_url": "https://api.github.com/repos/acme/churn-model",
        "performed_via_github_app": None,
    }
    return {
        "action": "created",
        "deployment_status": {
            "url": f"https://api.github.com/repos/acme/churn-model/deployments/{deployment_id}/statuses/1",
            "id": 2,
            "node_id": "DES_kwDOAAAAAA",
            "state": state,
            "creator": _SENDER,
            "description": "",
            "environment": environment,
            "target_url": "",
            "created_at": created_at,
            "updated_at": created_at,
            "deployment_url": deployment["url"],
            "repository_url": "https://api.github.com/repos/acme/churn-model",
            "performed_via_github_app": None,
        },
        "deployment": deployment,
        "check_run": None,
        "workflow": None,
        "workflow_run": None,
        "repository": _REPO,
        "sender": _SENDER,
    }


def github_issue(action: str = "opened", label: str = "Incident", body: str | None = None) -> dict[str, Any]:
    closed = action == "closed"
    return {
        "action": action,
        "issue": {
            "url": "https://api.github.com/repos/acme/churn-model/issues/42",
            "id": 1,
            "number": 42,
            "title": "Scoring API returns 500",
            "user": _SENDER,
            "labels": [{"id": 208045946, "name": label, "color": "f29513", "default": False}],
            "state": "closed" if closed else "open",
            "locked": False,
            "assignee": None,
            "assignees": [],
            "comments": 0,
            "created_at": "2026-11-30T12:00:00Z",
            "updated_at": "2026-11-30T15:00:00Z",
            "closed_at": "2026-11-30T15:00:00Z" if closed else None,
            "author_association": "MEMBER",
            "body": body if body is not None else f"Scores are all null.\n\nroot cause: {SHA_B}\n",
        },
        "repository": _REPO,
        "sender": _SENDER,
    }


def github_workflow_run(name: str = "Train churn model", conclusion: str = "success") -> dict[str, Any]:
    return {
        "action": "completed",
        "workflow_run": {
            "id": 30433642,
            "name": name,
            "node_id": "WFR_kwLOAAAAAA",
            "head_branch": "main",
            "head_sha": SHA_B,
            "path": ".github/workflows/train.yml",
            "run_number": 562,
            "event": "schedule",
            "status": "completed",
            "conclusion": conclusion,
            "workflow_id": 159038,
            "run_attempt": 1,
            "created_at": "2026-11-30T02:00:00Z",
            "updated_at": "2026-11-30T03:10:00Z",
            "run_started_at": "2026-11-30T02:00:05Z",
            "pull_requests": [],
            "actor": _SENDER,
            "triggering_actor": _SENDER,
        },
        "workflow": {"id": 159038, "name": name, "path": ".github/workflows/train.yml", "state": "active"},
        "repository": _REPO,
        "sender": _SENDER,
    }


def github_headers(secret: str, body: str, event: str, delivery: str | None = None) -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": signature,
    }


_PROJECT = {
    "id": 15,
    "name": "churn-model",
    "description": "",
    "web_url": "https://gitlab.example.com/acme/churn-model",
    "git_ssh_url": "git@gitlab.example.com:acme/churn-model.git",
    "git_http_url": "https://gitlab.example.com/acme/churn-model.git",
    "namespace": "acme",
    "visibility_level": 0,
    "path_with_namespace": "acme/churn-model",
    "default_branch": "main",
}
_GITLAB_USER = {"id": 1, "name": "Administrator", "username": "root", "email": "admin@example.com"}


def gitlab_deployment(
    status: str = "success", tier: str = "production", environment: str = "production", deployment_id: int = 15
) -> dict[str, Any]:
    return {
        "object_kind": "deployment",
        "status": status,
        "status_changed_at": "2021-04-28 21:50:00 +0200",
        "deployment_id": deployment_id,
        "deployable_id": 796,
        "deployable_url": "https://gitlab.example.com/acme/churn-model/-/jobs/796",
        "environment": environment,
        "environment_tier": tier,
        "environment_slug": environment,
        "environment_external_url": "https://churn.example.com",
        "project": _PROJECT,
        "short_sha": SHA_B[:8],
        "user": _GITLAB_USER,
        "user_url": "https://gitlab.example.com/root",
        "commit_url": f"https://gitlab.example.com/acme/churn-model/-/commit/{SHA_B}",
        "commit_title": "Retrain on November data",
    }


def gitlab_push() -> dict[str, Any]:
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": SHA_B,
        "ref": "refs/heads/main",
        "ref_protected": True,
        "checkout_sha": SHA_B,
        "user_id": 4,
        "user_name": "John Smith",
        "user_username": "jsmith",
        "project_id": 15,
        "project": _PROJECT,
        "commits": [
            {
                "id": SHA_A,
                "message": "Update features",
                "title": "Update features",
                "timestamp": "2011-12-12T14:27:31+02:00",
                "url": f"https://gitlab.example.com/acme/churn-model/-/commit/{SHA_A}",
                "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
                "added": ["CHANGELOG"],
                "modified": ["app/controller/application.rb"],
                "removed": [],
            },
            {
                "id": SHA_B,
                "message": "fixed readme",
                "title": "fixed readme",
                "timestamp": "2012-01-03T23:36:29+02:00",
                "url": f"https://gitlab.example.com/acme/churn-model/-/commit/{SHA_B}",
                "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
                "added": ["CHANGELOG"],
                "modified": ["app/controller/application.rb"],
                "removed": [],
            },
        ],
        "total_commits_count": 2,
        "repository": {"name": "churn-model", "url": "git@gitlab.example.com:acme/churn-model.git"},
    }


def gitlab_issue(action: str = "open", label: str = "INCIDENT") -> dict[str, Any]:
    closed = action == "close"
    labels = [{"id": 206, "title": label, "color": "#dc3545", "project_id": 15, "type": "ProjectLabel"}]
    return {
        "object_kind": "issue",
        "event_type": "issue",
        "user": _GITLAB_USER,
        "project": _PROJECT,
        "object_attributes": {
            "id": 301,
            "iid": 23,
            "title": "Predictions stale",
            "description": f"Feature store lagged.\nRoot cause: {SHA_A[:12]}",
            "state": "closed" if closed else "opened",
            "action": action,
            "created_at": "2013-12-03T17:15:43Z",
            "updated_at": "2013-12-03T19:15:43Z",
            "closed_at": "2013-12-03T19:15:43Z" if closed else None,
            "labels": labels,
        },
        "labels": labels,
        "changes": {},
    }


def gitlab_headers(token: str, event: str, uuid_: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": token,
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Webhook-UUID": "2a1b3c4d-0000-4000-8000-000000000001",
        "X-Gitlab-Event-UUID": uuid_ or str(uuid.uuid4()),
    }


def mlflow_model_version_created(name: str = "churn", version: str = "7") -> dict[str, Any]:
    return {
        "entity": "model_version",
        "action": "created",
        "timestamp": "2026-11-30T03:20:00.123456+00:00",
        "data": {
            "name": name,
            "version": version,
            "source": "models:/m-6b4c0d8a2f0e4a7b9c1d2e3f4a5b6c7d",
            "run_id": "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5",
            "tags": {"stage": "candidate"},
            "description": "Retrained on November",
        },
    }


def mlflow_alias_created(name: str = "churn", alias: str = "champion", version: str = "7") -> dict[str, Any]:
    return {
        "entity": "model_version_alias",
        "action": "created",
        "timestamp": "2026-11-30T09:00:00.000000+00:00",
        "data": {"name": name, "alias": alias, "version": version},
    }


def mlflow_headers(secret: str, body: str, delivery: str | None = None, timestamp: int | None = None) -> dict[str, str]:
    delivery = delivery or str(uuid.uuid4())
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signed = f"{delivery}.{ts}.{body}".encode()
    signature = "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-MLflow-Signature": signature,
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": ts,
    }


def dumps(payload: Any) -> str:
    return json.dumps(payload)


def printed_secret(output: str) -> str | None:
    """The secret or token `compass signals add` printed, where its guide says to paste it."""
    found = re.search(r'(?:^   Secret(?: token)?: |secret="|^COMPASS_TOKEN=|credentials: ")([\w-]+)', output, re.M)
    return found.group(1) if found else None
