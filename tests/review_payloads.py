"""Pull and merge request deliveries for the code review tests, made from the senders' documented
examples in tests/data/webhooks (see SOURCES.md there): each builder copies an example and
changes only what its case needs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).parent / "data" / "webhooks"

# GitHub's examples: Codertocat/Hello-World#2, opened 2019-05-15T15:20:33Z by Codertocat (id 21031067),
# reviewed by Codertocat himself at 15:20:38Z (review 237895671, "commented").
GITHUB_PR = "Codertocat/Hello-World#2"
# GitLab's example: gitlabhq/gitlab-test!1, opened 2013-12-03T17:23:34Z by user 51; the hook's
# ``user`` is 1 (Administrator).
GITLAB_MR = "gitlabhq/gitlab-test#1"


def example(sender: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / sender / f"{name}.json").read_text())
    return data


def github_pull_request(
    action: str = "opened", *, number: int | None = None, created_at: str | None = None
) -> dict[str, Any]:
    """GitHub's documented pull_request example for ``action`` (opened, reopened, closed; others
    from the opened one)."""
    documented = action if action in ("opened", "reopened", "closed") else "opened"
    payload = example("github", f"pull_request.{documented}")
    payload["action"] = action
    return _renumbered(payload, number, created_at)


def github_merged(merged_at: str = "2019-05-15T16:20:33Z", **kw: Any) -> dict[str, Any]:
    """The documented "closed" example, merged (the documented one was closed unmerged)."""
    payload = github_pull_request("closed", **kw)
    payload["pull_request"].update(merged=True, merged_at=merged_at, state="closed")
    return payload


def github_review(
    state: str = "commented",
    *,
    login: str | None = None,
    user_id: int = 583231,
    user_type: str = "User",
    review_id: int | None = None,
    submitted_at: str | None = None,
    action: str = "submitted",
    **kw: Any,
) -> dict[str, Any]:
    """The documented review example; with ``login``, by that other user rather than the author."""
    payload = _renumbered(example("github", "pull_request_review.submitted"), kw.get("number"), kw.get("created_at"))
    payload["action"] = action
    review = payload["review"]
    review["state"] = state
    if login is not None:
        review["user"] = {**copy.deepcopy(review["user"]), "login": login, "id": user_id, "type": user_type}
    if review_id is not None:
        review["id"] = review_id
    if submitted_at is not None:
        review["submitted_at"] = submitted_at
    return payload


def gitlab_merge_request(
    action: str = "open",
    *,
    user_id: int = 1,
    iid: int | None = None,
    created_at: str | None = None,
    updated_at: str | None = None,
) -> dict[str, Any]:
    """GitLab's documented Merge Request Hook example with another ``object_attributes.action``."""
    payload = example("gitlab", "merge_request.open")
    attributes = payload["object_attributes"]
    attributes["action"] = action
    payload["user"]["id"] = user_id
    if action == "merge":
        attributes.update(state="merged")
    for key, value in (("iid", iid), ("created_at", created_at), ("updated_at", updated_at)):
        if value is not None:
            attributes[key] = value
    return payload


def _renumbered(payload: dict[str, Any], number: int | None, created_at: str | None) -> dict[str, Any]:
    if number is not None:
        payload["pull_request"]["number"] = number
        if "number" in payload:
            payload["number"] = number
    if created_at is not None:
        payload["pull_request"]["created_at"] = created_at
    return payload
