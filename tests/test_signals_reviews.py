"""Code review signals end to end: GitHub's pull_request and pull_request_review and GitLab's
Merge Request Hook, from the senders' documented examples, signed and sent over real HTTP to
``compass serve --http`` on SQLite and PostgreSQL; then `compass signals show` reads the figures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from harness import Reply
from review_payloads import (
    GITHUB_PR,
    GITLAB_MR,
    example,
    github_merged,
    github_pull_request,
    github_review,
    gitlab_merge_request,
)
from signal_env import Env, serving
from signal_payloads import dumps, github_headers, gitlab_headers

CHANNEL = "C0REVIEWS"


def events(env: Env, source_id: str) -> list[tuple[str, str, str | None, str | None]]:
    return [(r.type, r.external_id, r.name, r.status) for r in env.events(source_id)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with serving(request.param, tmp_path_factory.mktemp("reviews"), CHANNEL) as served:
        yield served


def gh(env: Env, path: str, secret: str, event: str, payload: object, delivery: str | None = None) -> Reply:
    body = dumps(payload)
    return env.post(path, body, github_headers(secret, body, event, delivery))


def gl(env: Env, path: str, token: str, payload: object, event_uuid: str | None = None) -> Reply:
    return env.post(path, dumps(payload), gitlab_headers(token, "Merge Request Hook", event_uuid))


def test_github_pull_request_reviewed_and_merged_is_stored_once(env: Env) -> None:
    source, path, secret = env.add("github")
    delivery = str(uuid.uuid4())
    first = gh(env, path, secret, "pull_request", example("github", "pull_request.opened"), delivery)
    assert (first.status, first.json()["events"]) == (200, 1)
    again = gh(env, path, secret, "pull_request", example("github", "pull_request.opened"), delivery)
    assert (again.status, again.json()["outcome"]) == (200, "already stored")
    assert gh(env, path, secret, "pull_request", example("github", "pull_request.reopened")).status == 200

    own = gh(env, path, secret, "pull_request_review", example("github", "pull_request_review.submitted"))
    assert (own.status, own.json()["detail"]) == (202, "a review by the pull request's own author")
    assert gh(env, path, secret, "pull_request_review", github_review("approved", login="monalisa")).status == 200
    unmerged = gh(env, path, secret, "pull_request", example("github", "pull_request.closed"))
    assert (unmerged.status, unmerged.json()["detail"]) == (202, "a pull request closed without merging")
    edited = gh(env, path, secret, "pull_request", github_pull_request("edited"))
    assert (edited.status, edited.json()["detail"]) == (202, "pull request action 'edited' neither opens nor merges it")
    assert gh(env, path, secret, "pull_request", github_merged()).status == 200

    # The opening came with four deliveries and is stored once.
    assert env.counts(source) == (4, 3)
    assert events(env, source) == [
        ("review_opened", GITHUB_PR, GITHUB_PR, None),
        ("reviewed", f"{GITHUB_PR}:237895671", GITHUB_PR, "approved"),
        ("review_merged", GITHUB_PR, GITHUB_PR, None),
    ]


def test_github_bad_and_forged_review_deliveries_store_nothing(env: Env) -> None:
    source, path, secret = env.add("github")
    merged = github_merged()
    del merged["pull_request"]["merged_at"]
    bad = gh(env, path, secret, "pull_request", merged)
    assert (bad.status, bad.json()["detail"]) == (400, "pull_request.merged_at: missing")
    body = dumps(github_review("approved", login="monalisa"))
    assert env.post(path, body, github_headers("not-the-secret", body, "pull_request_review")).status == 401
    assert env.counts(source) == (0, 0)


def test_gitlab_merge_request_approved_and_merged_once_per_event_uuid(env: Env) -> None:
    source, path, token = env.add("gitlab")
    event_uuid = str(uuid.uuid4())
    assert gl(env, path, token, example("gitlab", "merge_request.open"), event_uuid).status == 200
    redelivered = gl(env, path, token, example("gitlab", "merge_request.open"), event_uuid)
    assert (redelivered.status, redelivered.json()["outcome"]) == (200, "already stored")
    assert gl(env, path, token, gitlab_merge_request("approval", user_id=6)).status == 200
    assert gl(env, path, token, gitlab_merge_request("approved", user_id=6)).status == 200  # the same approval
    own = gl(env, path, token, gitlab_merge_request("approval", user_id=51))
    assert (own.status, own.json()["detail"]) == (202, "an approval by the merge request's own author")
    assert gl(env, path, token, gitlab_merge_request("update")).status == 202
    assert gl(env, path, "wrong-token", gitlab_merge_request("merge")).status == 401
    no_iid = gitlab_merge_request("merge")
    del no_iid["object_attributes"]["iid"]
    bad = gl(env, path, token, no_iid)
    assert (bad.status, bad.json()["detail"]) == (400, "object_attributes.iid: missing")
    assert gl(env, path, token, gitlab_merge_request("merge", updated_at="2013-12-04 09:00:00 UTC")).status == 200
    assert env.counts(source) == (4, 3)
    assert events(env, source) == [
        ("review_opened", GITLAB_MR, GITLAB_MR, None),
        ("reviewed", f"{GITLAB_MR}:approval:6", GITLAB_MR, "approved"),
        ("review_merged", GITLAB_MR, GITLAB_MR, None),
    ]


def test_the_figures_of_reviews_delivered_over_http_show_in_the_terminal(env: Env) -> None:
    channel = f"C0SHOW{uuid.uuid4().hex[:6].upper()}"
    _, path, secret = env.add("github", channel=channel)

    def ago(hours: float) -> str:
        return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # Opened 5 h ago, reviewed 3.5 h ago (after 1.5 h), merged 2 h ago (after 3 h); a second pull
    # request merged after 1 h without a review.
    reviewed = github_review("commented", login="monalisa", number=10, created_at=ago(5), submitted_at=ago(3.5))
    assert gh(env, path, secret, "pull_request_review", reviewed).status == 200
    assert gh(env, path, secret, "pull_request", github_merged(ago(2), number=10, created_at=ago(5))).status == 200
    assert gh(env, path, secret, "pull_request", github_merged(ago(1), number=11, created_at=ago(2))).status == 200
    shown = json.loads(env.cli("signals", "show", "--channel", channel, "--days", "7", "--json"))
    assert (shown["changes_merged"], shown["reviewed_share"], shown["reviewed_share_band"]) == (2, 0.5, "some")
    assert shown["review_hours_p50"] == pytest.approx(1.5, abs=0.01)
    assert shown["review_time_band"] == "under a day"
    assert shown["merge_hours_p50"] == pytest.approx(2, abs=0.01)
    lines = {
        line[:28].strip(): line[28:].strip() for line in env.cli("signals", "show", "--channel", channel).splitlines()
    }
    assert lines["Reviewed before merge"] == "50% (some) of 2 merged changes"
    assert lines["First review (median)"] == "1.5 h (under a day)"
    assert lines["Time to merge (median)"] == "2.0 h"
