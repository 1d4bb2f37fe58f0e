"""GitLab's merge requests as code review signals: the Merge Request Hook.

Shape: GitLab's "Webhook events" page, "Merge request events" (object_kind ``merge_request``,
``object_attributes.action`` open, reopen, merge, approval, approved, ...). A merge request is
named ``group/project#iid`` (as pull requests are), the ``name`` of all its events.

GitLab sends neither a merge time nor an approval time: the merge request's ``updated_at`` in
the delivery that reports the merge or the approval stands in for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.ingest.common import Parsed, bounded, ignored, optional, text, time_at
from bot.domain.signals import SignalEvent, SignalType

MERGE_REQUEST_HOOK = "Merge Request Hook"
OBJECT_KIND = "merge_request"

# "approval" is one person's approval; "approved" is sent when the approvals the project requires
# are all given, with the last approver as ``user``. Both are that person's approval of the
# change, stored once (the id is the approver's).
_APPROVALS = ("approval", "approved")


def merge_request(payload: Mapping[str, Any]) -> Parsed:
    """Open or reopen: the opening; merge: the opening and the merge; an approval by someone
    other than the author: the opening and a review."""
    action = text(payload, "object_attributes.action")
    if action not in ("open", "reopen", "merge", *_APPROVALS):
        return ignored(f"merge request action {action!r} neither opens, approves nor merges it")
    key = bounded(f"{text(payload, 'project.path_with_namespace')}#{text(payload, 'object_attributes.iid')}")
    opened = SignalEvent(SignalType.REVIEW_OPENED, key, time_at(payload, "object_attributes.created_at"), name=key)
    if action in ("open", "reopen"):
        return Parsed((opened,))
    updated = time_at(payload, "object_attributes.updated_at")
    if action == "merge":
        return Parsed((opened, SignalEvent(SignalType.REVIEW_MERGED, key, updated, name=key)))
    approver = text(payload, "user.id")
    author = optional(payload, "object_attributes.author_id")
    if author is not None and str(author) == approver:
        return ignored("an approval by the merge request's own author")
    review = SignalEvent(
        SignalType.REVIEWED, bounded(f"{key}:approval:{approver}"), updated, name=key, status="approved"
    )
    return Parsed((opened, review))
