"""Pull and merge requests read into code review events, from GitHub's and GitLab's documented examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from review_payloads import (
    GITHUB_PR,
    GITLAB_MR,
    example,
    github_merged,
    github_pull_request,
    github_review,
    gitlab_merge_request,
)

from bot.domain.ingest import github, gitlab
from bot.domain.ingest.common import PayloadError
from bot.domain.signals import SignalEvent, SignalType

OPENED, REVIEWED, MERGED = SignalType.REVIEW_OPENED, SignalType.REVIEWED, SignalType.REVIEW_MERGED


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def gh(event: str, payload: object) -> tuple[SignalEvent, ...]:
    parsed = github.parse(event, payload, "train")
    assert parsed.ignored is None, parsed.ignored
    return parsed.events


def gh_ignored(event: str, payload: object) -> str:
    parsed = github.parse(event, payload, "train")
    assert parsed.events == ()
    assert parsed.ignored is not None
    return parsed.ignored


# --- GitHub ----------------------------------------------------------------------------------


def test_the_documented_opened_and_reopened_pull_requests_are_its_opening() -> None:
    opened = SignalEvent(OPENED, GITHUB_PR, at("2019-05-15T15:20:33Z"), name=GITHUB_PR)
    assert gh("pull_request", example("github", "pull_request.opened")) == (opened,)
    assert gh("pull_request", example("github", "pull_request.reopened")) == (opened,)
    assert "pull_request" in github.EVENTS and "pull_request_review" in github.EVENTS


def test_the_documented_closed_pull_request_was_not_merged_and_is_ignored() -> None:
    assert gh_ignored("pull_request", example("github", "pull_request.closed")) == (
        "a pull request closed without merging"
    )


def test_a_merged_pull_request_is_its_opening_and_its_merge() -> None:
    assert gh("pull_request", github_merged("2019-05-16T09:00:00Z")) == (
        SignalEvent(OPENED, GITHUB_PR, at("2019-05-15T15:20:33Z"), name=GITHUB_PR),
        SignalEvent(MERGED, GITHUB_PR, at("2019-05-16T09:00:00Z"), name=GITHUB_PR),
    )


@pytest.mark.parametrize("action", ["assigned", "labeled", "synchronize", "edited", "ready_for_review"])
def test_other_pull_request_actions_are_ignored(action: str) -> None:
    assert "neither opens nor merges" in gh_ignored("pull_request", github_pull_request(action))


def test_the_documented_review_is_by_the_author_himself_and_is_not_a_review() -> None:
    payload = example("github", "pull_request_review.submitted")
    assert gh_ignored("pull_request_review", payload) == "a review by the pull request's own author"


@pytest.mark.parametrize("state", ["approved", "changes_requested", "commented", "APPROVED"])
def test_a_review_by_someone_else_is_a_review_in_any_of_its_states(state: str) -> None:
    events = gh("pull_request_review", github_review(state, login="monalisa"))
    assert events == (
        SignalEvent(OPENED, GITHUB_PR, at("2019-05-15T15:20:33Z"), name=GITHUB_PR),
        SignalEvent(
            REVIEWED, f"{GITHUB_PR}:237895671", at("2019-05-15T15:20:38Z"), name=GITHUB_PR, status=state.lower()
        ),
    )


def test_bots_dismissals_and_edits_are_not_reviews() -> None:
    bot = github_review("approved", login="copilot-reviewer", user_type="Bot")
    assert gh_ignored("pull_request_review", bot) == "a review by a bot"
    app = github_review("commented", login="coverage[bot]")
    assert gh_ignored("pull_request_review", app) == "a review by a bot"
    dismissed = github_review("dismissed", login="monalisa", action="dismissed")
    assert gh_ignored("pull_request_review", dismissed) == "review action 'dismissed': only submitted reviews count"
    pending = github_review("pending", login="monalisa")
    assert gh_ignored("pull_request_review", pending) == "review state 'pending' is not a review"


def test_a_missing_field_is_named() -> None:
    merged = github_merged()
    del merged["pull_request"]["merged_at"]
    with pytest.raises(PayloadError, match=r"^pull_request\.merged_at: missing$"):
        github.parse("pull_request", merged, "train")
    review = github_review("approved", login="monalisa")
    review["review"]["submitted_at"] = "yesterday"
    with pytest.raises(PayloadError, match=r"^review\.submitted_at: not an ISO 8601 time$"):
        github.parse("pull_request_review", review, "train")
    opened = github_pull_request()
    del opened["repository"]
    with pytest.raises(PayloadError, match=r"^repository: missing$"):
        github.parse("pull_request", opened, "train")


# --- GitLab ----------------------------------------------------------------------------------


def test_the_documented_merge_request_is_its_opening_with_or_without_the_header() -> None:
    opened = SignalEvent(OPENED, GITLAB_MR, at("2013-12-03T17:23:34Z"), name=GITLAB_MR)
    payload = example("gitlab", "merge_request.open")
    assert gitlab.parse("Merge Request Hook", payload, "production").events == (opened,)
    assert gitlab.parse(None, payload, "production").events == (opened,)  # from its object_kind
    assert gitlab.parse("Merge Request Hook", gitlab_merge_request("reopen"), "production").events == (opened,)
    assert "Merge Request Hook" in gitlab.EVENTS


def test_a_merge_is_the_opening_and_the_merge_at_the_update_that_reports_it() -> None:
    payload = gitlab_merge_request("merge", updated_at="2013-12-04 09:00:00 UTC")
    assert gitlab.parse("Merge Request Hook", payload, "production").events == (
        SignalEvent(OPENED, GITLAB_MR, at("2013-12-03T17:23:34Z"), name=GITLAB_MR),
        SignalEvent(MERGED, GITLAB_MR, at("2013-12-04T09:00:00Z"), name=GITLAB_MR),
    )


def test_an_approval_by_someone_else_is_a_review_once_per_approver() -> None:
    approval = gitlab.parse("Merge Request Hook", gitlab_merge_request("approval", user_id=1), "production")
    approved = gitlab.parse("Merge Request Hook", gitlab_merge_request("approved", user_id=1), "production")
    review = SignalEvent(
        REVIEWED, f"{GITLAB_MR}:approval:1", at("2013-12-03T17:23:34Z"), name=GITLAB_MR, status="approved"
    )
    assert approval.events[1] == review
    assert approved.events[1] == review  # the same approval, stored once
    own = gitlab.parse("Merge Request Hook", gitlab_merge_request("approval", user_id=51), "production")
    assert (own.events, own.ignored) == ((), "an approval by the merge request's own author")


@pytest.mark.parametrize("action", ["update", "close", "unapproved", "unapproval"])
def test_other_merge_request_actions_are_ignored(action: str) -> None:
    parsed = gitlab.parse("Merge Request Hook", gitlab_merge_request(action), "production")
    assert parsed.events == ()
    assert parsed.ignored == f"merge request action {action!r} neither opens, approves nor merges it"


def test_a_merge_request_without_its_iid_is_named() -> None:
    payload = gitlab_merge_request("merge")
    del payload["object_attributes"]["iid"]
    with pytest.raises(PayloadError, match=r"^object_attributes\.iid: missing$"):
        gitlab.parse("Merge Request Hook", payload, "production")
