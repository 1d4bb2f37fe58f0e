"""What real senders send, over real HTTP against ``compass serve --http``, on SQLite and PostgreSQL:
GitHub's default form content type, pushes of up to 2,048 commits, bodies that only a hostile
sender would send, a replayed incident close, and lead time over a feature branch. Payloads are
GitHub's own examples (tests/data/webhooks/SOURCES.md), with only the fields a scenario needs
changed."""

from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
import test_signals_ingest
from signal_env import CHANNEL, Env, Made
from signal_payloads import gitlab_headers, mlflow_headers
from sqlalchemy import select

from bot.db import signal_metrics
from bot.db.models import SignalDelivery
from bot.domain.ingest.bodies import BODY_LIMITS, FORM
from bot.domain.ingest.signatures import github_signature
from bot.domain.signals import SourceKind

env = test_signals_ingest.env  # the same served app, one per database, for this module's tests
EXAMPLES = Path(__file__).parent / "data" / "webhooks" / "github"


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def github(secret: str, body: str, event: str, content_type: str = "application/json") -> dict[str, str]:
    """GitHub's headers for a body as sent (the signature covers exactly these bytes)."""
    return {
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/0f3b1e2",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": github_signature(secret, body.encode()),
    }


def form(payload: str) -> str:
    """GitHub's ``application/x-www-form-urlencoded`` body: the JSON in a ``payload`` field."""
    return "payload=" + quote_plus(payload)


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def push(ref: str, commits: list[tuple[str, datetime]]) -> dict[str, Any]:
    """GitHub's push example to ``ref`` with these commits (sha, time); the last is the head."""
    payload = example("push")
    shape = payload["commits"][0]
    listed = []
    for commit_sha, at in commits:
        commit = deepcopy(shape)
        commit.update(id=commit_sha, timestamp=at.isoformat(), url=shape["url"].replace(shape["id"], commit_sha))
        listed.append(commit)
    payload.update(ref=ref, before="0" * 40, after=listed[-1]["id"], commits=listed, head_commit=listed[-1])
    return payload


def deployment_status(deployed_sha: str, at: datetime, deployment_id: int) -> dict[str, Any]:
    payload = example("deployment_status")
    payload["deployment"].update(sha=deployed_sha, id=deployment_id)
    payload["deployment_status"]["created_at"] = at.isoformat()
    return payload


def send(env: Env, made: Made, event: str, payload: object) -> Any:
    body = json.dumps(payload)
    reply = env.post(made.path, body, github(made.secret, body, event))
    assert reply.status == 200, reply.body
    return reply.json()


# --- 1. GitHub's default content type --------------------------------------------------------


def test_a_form_encoded_github_ping_and_push_are_stored_as_the_json_ones(env: Env) -> None:
    as_json, as_form = env.add("github"), env.add("github")
    ping = json.dumps(example("ping"))
    reply = env.post(as_form.path, form(ping), github(as_form.secret, form(ping), "ping", FORM))
    assert (reply.status, reply.json()["outcome"]) == (200, "pong")

    payload = json.dumps(example("push"), indent=2)  # as GitHub sends it: pretty-printed
    by_json = env.post(as_json.path, payload, github(as_json.secret, payload, "push"))
    by_form = env.post(as_form.path, form(payload), github(as_form.secret, form(payload), "push", FORM))
    assert (by_json.status, by_json.json()["events"]) == (by_form.status, by_form.json()["events"]) == (200, 1)

    def stored(source_id: str) -> tuple[list[tuple[Any, ...]], list[str]]:
        rows = [(r.type, r.external_id, r.at, r.sha, r.head, r.pushed_at, r.name) for r in env.events(source_id)]
        with env.db.sessions() as s:
            raw = list(s.scalars(select(SignalDelivery.payload).where(SignalDelivery.source_id == source_id)))
        return rows, raw

    assert stored(as_form.id) == stored(as_json.id)
    assert stored(as_form.id)[1] == [payload]  # the JSON itself is kept, not the form around it
    (change,) = env.events(as_form.id)
    assert (change.sha, change.name) == ("6113728f27ae82c7b1a177c8d03f9e96e0adf246", "refs/heads/master")


def test_a_form_body_is_signed_as_sent_and_without_a_json_payload_is_400(env: Env) -> None:
    made = env.add("github")
    payload = json.dumps(example("push"))
    signed_json = github(made.secret, payload, "push", FORM)  # the JSON signed, the form sent
    assert env.post(made.path, form(payload), signed_json).status == 401
    for body, detail in [
        ("zen=Keep+it+logically+awesome.", "payload: missing from the form body"),
        ("payload=%7Bnot+json", "payload: not JSON"),
        (form(payload) + "&" + form(payload), "payload: given more than once in the form body"),
    ]:
        reply = env.post(made.path, body, github(made.secret, body, "push", FORM))
        assert (reply.status, reply.json()["detail"]) == (400, detail)
    # Only GitHub sends forms: another kind of source says what it takes.
    lab = env.add("gitlab")
    reply = env.post(lab.path, form(payload), {**gitlab_headers(lab.secret, "Push Hook"), "Content-Type": FORM})
    assert (reply.status, reply.json()["detail"]) == (
        400,
        "body: form-encoded; this kind of source takes application/json",
    )
    assert env.counts(made.id) == env.counts(lab.id) == (0, 0)


# --- 3. size limits by sender ----------------------------------------------------------------


def test_a_push_of_2048_commits_over_a_mebibyte_is_stored(env: Env) -> None:
    made = env.add("github")
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    commits = [(sha(f"big-{i}"), start + timedelta(seconds=i)) for i in range(2048)]  # GitHub's most per push
    body = json.dumps(push("refs/heads/main", commits))
    assert len(body) > 1024 * 1024
    reply = env.post(made.path, body, github(made.secret, body, "push"))
    assert (reply.status, reply.json()["events"]) == (200, 2048)
    assert env.counts(made.id) == (1, 2048)


def raw_post(env: Env, path: str, headers: dict[str, str], sent: bytes, timeout: float = 10.0) -> tuple[int, Any]:
    """A request whose Content-Length may promise more than is sent: the answer must not wait for it."""
    host, port = env.app.url.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest("POST", path)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(sent)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_bodies_over_their_senders_limit_are_413_naming_it_without_being_read(env: Env) -> None:
    hub = env.add("github")
    limit = BODY_LIMITS[SourceKind.GITHUB]
    assert limit == 25 * 1024 * 1024  # GitHub's own cap on webhook payloads
    headers = {**github(hub.secret, "{}", "push"), "Content-Length": str(limit + 1)}
    status, answer = raw_post(env, hub.path, headers, b"")  # not a byte of the body is sent
    assert (status, answer["error"]) == (413, f"body over {limit} bytes, the most a source of kind github takes")

    registry = env.add("mlflow")
    small = BODY_LIMITS[SourceKind.MLFLOW]
    headers = {**mlflow_headers(registry.secret, "{}"), "Content-Length": str(small + 1)}
    status, answer = raw_post(env, registry.path, headers, b"")
    assert (status, answer["error"]) == (413, f"body over {small} bytes, the most a source of kind mlflow takes")
    assert env.counts(hub.id) == env.counts(registry.id) == (0, 0)
    assert env.post(hub.path, "{}", github(hub.secret, "{}", "ping")).status == 200  # still answering


# --- 6. hostile bodies -----------------------------------------------------------------------


DEEP = "[" * 200_000 + "]" * 200_000


def _signed(made: Made, kind: str, body: str) -> dict[str, str]:
    if kind == "github":
        return github(made.secret, body, "push")
    if kind == "gitlab":
        return gitlab_headers(made.secret, "Push Hook")
    if kind == "mlflow":
        return mlflow_headers(made.secret, body)
    return {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}


@pytest.mark.parametrize("kind", ["github", "gitlab", "mlflow", "events"])
def test_a_deeply_nested_body_is_400_in_one_log_line_and_the_server_goes_on(env: Env, kind: str) -> None:
    made = env.add(kind)
    before = len(env.app.log())
    reply = env.post(made.path, DEEP, _signed(made, kind, DEEP))
    assert (reply.status, reply.json()["detail"]) == (400, "body: JSON nested too deeply")
    logged = env.app.log()[before:]
    assert len([line for line in logged.splitlines() if made.id in line]) == 1, logged
    assert "Traceback" not in logged and "nested too deeply" in logged, logged
    assert env.counts(made.id) == (0, 0)
    after = env.post(made.path, "{}", _signed(made, kind, "{}"))  # the server goes on answering
    assert after.status == 400 and after.json()["detail"].endswith("missing"), after.body


# --- 7. the receipt counts what was stored ---------------------------------------------------


def test_a_replayed_incident_close_answers_the_one_event_it_stored(env: Env) -> None:
    made = env.add("github")
    opened = example("issues-opened")
    opened["issue"]["labels"].append({**opened["issue"]["labels"][0], "id": 1, "name": "incident"})
    assert send(env, made, "issues", opened)["detail"] == "1 event(s)"
    closed = deepcopy(opened)
    closed["action"] = "closed"
    closed["issue"].update(state="closed", closed_at="2019-05-15T16:02:00Z")
    answer = send(env, made, "issues", closed)  # carries the opening again, stored already
    assert (answer["detail"], answer["events"]) == ("1 event(s)", 1)
    assert [r.type for r in env.events(made.id)] == ["incident_opened", "incident_resolved"]


# --- 4. lead time counts only what the deployment shipped ------------------------------------


def test_a_feature_branch_push_is_not_in_mains_lead_time(env: Env) -> None:
    made = env.add("github")
    deployed = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    feature, main = sha("feature-x-1"), sha("main-1")
    send(env, made, "push", push("refs/heads/feature-x", [(feature, deployed - timedelta(hours=36))]))
    send(env, made, "push", push("refs/heads/main", [(main, deployed - timedelta(hours=24))]))
    send(env, made, "deployment_status", deployment_status(main, deployed, 145988746))
    with env.db.sessions() as session:
        metrics = signal_metrics.channel_metrics(session, CHANNEL, deployed + timedelta(days=1), 30)
    # Both pushes fall between no deployment and this one; only main's commit shipped (not 30 h).
    assert metrics.lead_time_hours_p50 == pytest.approx(24)
