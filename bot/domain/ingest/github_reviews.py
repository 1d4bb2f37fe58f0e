"""GitHub's pull requests as code review signals: ``pull_request`` and ``pull_request_review``.

Shapes: the octokit/webhooks payload schemas (``pull_request/*``, ``pull_request_review/*``).
A pull request is named ``owner/repo#number``; that is the ``name`` of all its events and the
``external_id`` of its opening and merge, so each is stored once however often it is delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.ingest.common import Parsed, bounded, get, ignored, mapping, text, time_at
from bot.domain.signals import SignalEvent, SignalType

PULL_REQUEST = "pull_request"
PULL_REQUEST_REVIEW = "pull_request_review"

# "commented" counts: a submitted review that neither approves nor blocks is still someone else
# reading the change, and teams that review by comment and merge without a formal approval would
# otherwise read as unreviewed. The state is kept (``status``) should a stricter reading be wanted.
REVIEW_STATES = ("approved", "changes_requested", "commented")


def pull_request(payload: Mapping[str, Any]) -> Parsed:
    """Opened or reopened: the opening. Closed and merged: the opening and the merge."""
    action = text(payload, "action")
    if action not in ("opened", "reopened", "closed"):
        return ignored(f"pull request action {action!r} neither opens nor merges it")
    if action == "closed" and get(payload, "pull_request.merged") is not True:
        return ignored("a pull request closed without merging")
    opened = _opened(payload)
    if action != "closed":
        return Parsed((opened,))
    merged = SignalEvent(
        SignalType.REVIEW_MERGED, opened.external_id, time_at(payload, "pull_request.merged_at"), name=opened.name
    )
    return Parsed((opened, merged))


def pull_request_review(payload: Mapping[str, Any]) -> Parsed:
    """A review submitted by someone other than the pull request's author, and not by a bot."""
    action = text(payload, "action")
    if action != "submitted":
        return ignored(f"review action {action!r}: only submitted reviews count")
    state = text(payload, "review.state").lower()
    if state not in REVIEW_STATES:
        return ignored(f"review state {state!r} is not a review")
    reviewer = mapping(payload, "review.user")
    if reviewer.get("type") == "Bot" or str(reviewer.get("login", "")).endswith("[bot]"):
        return ignored("a review by a bot")
    if _same_user(reviewer, mapping(payload, "pull_request.user")):
        return ignored("a review by the pull request's own author")
    opened = _opened(payload)
    reviewed = SignalEvent(
        SignalType.REVIEWED,
        bounded(f"{opened.name}:{text(payload, 'review.id')}"),
        time_at(payload, "review.submitted_at"),
        name=opened.name,
        status=state,
    )
    # The review carries the pull request too: its opening is stored even when the "opened"
    # delivery predates the webhook.
    return Parsed((opened, reviewed))


def _opened(payload: Mapping[str, Any]) -> SignalEvent:
    key = bounded(f"{text(payload, 'repository.full_name')}#{text(payload, 'pull_request.number')}")
    return SignalEvent(SignalType.REVIEW_OPENED, key, time_at(payload, "pull_request.created_at"), name=key)


def _same_user(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    if one.get("id") is not None and other.get("id") is not None:
        return bool(one["id"] == other["id"])
    return bool(one.get("login")) and one.get("login") == other.get("login")
