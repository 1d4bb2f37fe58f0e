"""Delivery signals end to end: sources made with the real `compass signals` command, webhooks
signed and shaped as GitHub, GitLab, MLflow and a CI send them, over real HTTP against
``compass serve --http``; the bad inputs store nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness import Reply, request
from signal_env import CHANNEL, Env, Made, serving
from signal_payloads import (
    SHA_A,
    SHA_B,
    dumps,
    github_deployment_status,
    github_headers,
    github_issue,
    github_push,
    gitlab_deployment,
    gitlab_headers,
    gitlab_issue,
    mlflow_alias_created,
    mlflow_headers,
    mlflow_model_version_created,
)
from sqlalchemy import select

from bot.cli.main import main
from bot.db.models import SignalDelivery, SignalSource


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with serving(request.param, tmp_path_factory.mktemp("signals")) as served:
        yield served


def gh(env: Env, made: Made, event: str, payload: object, delivery: str | None = None) -> Reply:
    body = dumps(payload)
    return env.post(made.path, body, github_headers(made.secret, body, event, delivery))


# --- GitHub ----------------------------------------------------------------------------------


def test_github_push_and_deployments_are_stored_once_and_a_redelivery_is_200(env: Env) -> None:
    made = env.add("github")
    assert gh(env, made, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1}).status == 200
    delivery = str(uuid.uuid4())
    first = gh(env, made, "push", github_push(), delivery)
    assert (first.status, first.json()["events"]) == (200, 2)
    again = gh(env, made, "push", github_push(), delivery)
    assert (again.status, again.json()["outcome"]) == (200, "already stored")
    assert gh(env, made, "deployment_status", github_deployment_status("success")).status == 200
    assert gh(env, made, "deployment_status", github_deployment_status("failure", deployment_id=2)).status == 200
    assert env.counts(made.id) == (3, 4)
    rows = env.events(made.id)
    assert [(r.type, r.sha) for r in rows] == [
        ("change", SHA_A),
        ("change", SHA_B),
        ("deployment", SHA_B),
        ("deployment_failed", SHA_B),
    ]
    assert all(r.counted for r in rows)
    with env.db.sessions() as s:
        raw = s.scalars(
            select(SignalDelivery.payload).where(SignalDelivery.source_id == made.id).order_by(SignalDelivery.id)
        ).first()
    assert raw is not None and json.loads(raw)["after"] == SHA_B  # the raw payload is kept


def test_github_deployment_to_another_environment_is_stored_not_counted(env: Env) -> None:
    made = env.add("github")
    reply = gh(env, made, "deployment_status", github_deployment_status("success", environment="staging"))
    assert reply.status == 200
    (row,) = env.events(made.id)
    assert (row.environment, row.counted) == ("staging", False)


def test_github_incident_issue_and_other_events(env: Env) -> None:
    made = env.add("github")
    assert gh(env, made, "issues", github_issue("closed")).status == 200
    assert [(r.type, r.root_cause) for r in env.events(made.id)] == [
        ("incident_opened", SHA_B),
        ("incident_resolved", SHA_B),
    ]
    star = gh(env, made, "star", {"action": "created", "starred_at": "2026-11-30T10:00:00Z"})
    assert (star.status, star.json()["detail"]) == (202, "event 'star' is not read by Compass")
    assert gh(env, made, "issues", github_issue("opened", label="bug")).status == 202
    assert env.counts(made.id) == (1, 2)


def test_github_forged_missing_and_wrong_kind_store_nothing(env: Env) -> None:
    made = env.add("github")
    body = dumps(github_push())
    forged = github_headers("not-the-secret", body, "push")
    assert env.post(made.path, body, forged).status == 401
    unsigned = {k: v for k, v in github_headers(made.secret, body, "push").items() if k != "X-Hub-Signature-256"}
    assert env.post(made.path, body, unsigned).status == 401
    tampered = github_headers(made.secret, body, "push")
    assert env.post(made.path, body.replace(SHA_A, SHA_B), tampered).status == 401
    assert env.post("/signals/github/nosuchsource", body, github_headers(made.secret, body, "push")).status == 404
    assert env.post(f"/signals/gitlab/{made.id}", body, github_headers(made.secret, body, "push")).status == 404
    assert env.post(f"/signals/jenkins/{made.id}", body, {}).status == 404
    assert env.counts(made.id) == (0, 0)
    log = env.app.log()
    assert f"refused a delivery to source {made.id}" in log
    assert made.secret not in log


def test_github_bad_bodies_are_400_naming_the_field(env: Env) -> None:
    made = env.add("github")
    payload = github_deployment_status()
    del payload["deployment"]["sha"]
    missing = gh(env, made, "deployment_status", payload)
    assert (missing.status, missing.json()["detail"]) == (400, "deployment.sha: missing")
    body = "{not json"
    bad = env.post(made.path, body, github_headers(made.secret, body, "push"))
    assert (bad.status, bad.json()["detail"]) == (400, "body: not JSON")
    assert env.counts(made.id) == (0, 0)


def test_githubs_documented_test_vector_passes_the_signature_check(env: Env) -> None:
    made = env.add("github", "--secret", "It's a Secret to Everybody")
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    }
    reply = env.post(made.path, "Hello, World!", headers)
    assert (reply.status, reply.json()["detail"]) == (400, "body: not JSON")  # signed right, just not JSON


# --- GitLab ----------------------------------------------------------------------------------


def test_gitlab_deployment_and_incident_with_the_token_once_per_event_uuid(env: Env) -> None:
    made = env.add("gitlab")
    body = dumps(gitlab_deployment())
    event_uuid = str(uuid.uuid4())
    assert env.post(made.path, body, gitlab_headers(made.secret, "Deployment Hook", event_uuid)).status == 200
    assert env.post(made.path, body, gitlab_headers(made.secret, "Deployment Hook", event_uuid)).status == 200
    issue = dumps(gitlab_issue("open"))
    assert env.post(made.path, issue, gitlab_headers(made.secret, "Issue Hook")).status == 200
    assert env.post(made.path, body, gitlab_headers("wrong-token", "Deployment Hook")).status == 401
    no_token = {k: v for k, v in gitlab_headers(made.secret, "Push Hook").items() if k != "X-Gitlab-Token"}
    assert env.post(made.path, body, no_token).status == 401
    assert env.counts(made.id) == (2, 2)
    assert [r.type for r in env.events(made.id)] == ["deployment", "incident_opened"]
    with env.db.sessions() as s:
        stored = s.scalar(select(SignalSource.secret).where(SignalSource.id == made.id))
    assert stored is not None and stored.startswith("sha256:") and made.secret not in stored


# --- MLflow ----------------------------------------------------------------------------------


def test_mlflow_training_run_and_serving_alias_stale_and_forged_refused(env: Env) -> None:
    made = env.add("mlflow")
    created = dumps(mlflow_model_version_created())
    delivery = str(uuid.uuid4())
    assert env.post(made.path, created, mlflow_headers(made.secret, created, delivery)).status == 200
    assert env.post(made.path, created, mlflow_headers(made.secret, created, delivery)).status == 200  # retry
    alias = dumps(mlflow_alias_created())
    assert env.post(made.path, alias, mlflow_headers(made.secret, alias)).status == 200
    other = dumps(mlflow_alias_created(alias="challenger"))
    assert env.post(made.path, other, mlflow_headers(made.secret, other)).status == 202
    stale = mlflow_headers(made.secret, alias, timestamp=int(time.time()) - 3600)
    assert env.post(made.path, alias, stale).status == 401
    assert env.post(made.path, alias, mlflow_headers("forged", alias)).status == 401
    assert env.counts(made.id) == (2, 2)
    assert [(r.type, r.model, r.version) for r in env.events(made.id)] == [
        ("training_run", "churn", "7"),
        ("model_deployed", "churn", "7"),
    ]


# --- generic events --------------------------------------------------------------------------


def test_generic_events_with_a_bearer_token(env: Env) -> None:
    made = env.add("events")
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}
    batch = [
        {"type": "deployment", "id": "jenkins-88", "at": "2026-11-30T10:00:00Z", "service": "api", "sha": SHA_B},
        {"type": "change", "id": SHA_B, "at": "2026-11-30T08:00:00Z", "sha": SHA_B, "head": SHA_B},
    ]
    assert env.post(made.path, json.dumps(batch), bearer).status == 200
    assert env.post(made.path, json.dumps(batch), bearer).status == 200  # replayed: stored once
    missing = env.post(
        made.path, json.dumps([{"type": "training_run", "id": "r", "at": "2026-11-30T01:00:00Z"}]), bearer
    )
    assert (missing.status, missing.json()["detail"]) == (400, "[0].model: missing")
    wrong = {**bearer, "Authorization": "Bearer nope"}
    assert env.post(made.path, json.dumps(batch[0]), wrong).status == 401
    assert env.post(made.path, json.dumps(batch[0]), {"Content-Type": "application/json"}).status == 401
    assert env.counts(made.id) == (1, 2)


# --- the commands ----------------------------------------------------------------------------


def test_list_rotate_import_and_remove(env: Env, tmp_path: Path) -> None:
    made = env.add("events", "--environment", "prod")
    listed = env.cli("signals", "list", "--channel", CHANNEL)
    assert made.id in listed and made.path in listed and made.secret not in listed
    rotated = env.cli("signals", "rotate", made.id)
    new = re.search(r"^token: (\S+)$", rotated, re.M)
    assert new and new.group(1) != made.secret
    event = {"type": "incident_opened", "id": "INC-7", "at": "2026-11-30T10:00:00Z"}
    old = {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}
    assert env.post(made.path, json.dumps(event), old).status == 401
    fresh = {**old, "Authorization": f"Bearer {new.group(1)}"}
    assert env.post(made.path, json.dumps(event), fresh).status == 200

    lines = tmp_path / "backfill.jsonl"
    history = [
        {"type": "deployment", "id": f"d-{i}", "at": f"2026-10-{i + 1:02d}T10:00:00Z", "sha": SHA_A} for i in range(20)
    ]
    lines.write_text("\n".join(json.dumps(h) for h in history) + "\n\n", encoding="utf-8")
    assert "imported 20 event(s)" in env.cli("signals", "import", str(lines), "--source", made.id)
    assert "20 new" not in env.cli("signals", "import", str(lines), "--source", made.id)  # again: nothing new
    assert env.counts(made.id)[1] == 21

    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(history[0]) + "\n" + json.dumps({"type": "deployment", "id": "x"}) + "\n")
    result = CliRunner().invoke(
        main, ["signals", "import", str(broken), "--source", made.id], env={"DATABASE_URL": env.url}
    )
    assert result.exit_code == 1 and "line 2: at: missing" in result.output

    assert "removed source" in env.cli("signals", "remove", made.id)
    assert env.counts(made.id) == (0, 0)
    assert env.post(made.path, json.dumps(event), fresh).status == 404
    gone = CliRunner().invoke(main, ["signals", "remove", made.id], env={"DATABASE_URL": env.url})
    assert gone.exit_code == 1


# --- many at once (group commit) -------------------------------------------------------------


def _distinct_github(i: int) -> tuple[str, object]:
    sha = hashlib.sha1(f"concurrent-{i}".encode()).hexdigest()
    if i % 2 == 0:
        return "push", github_push([(sha, "2026-11-30T09:00:00Z")], after=sha)
    return "deployment_status", github_deployment_status(sha=sha, deployment_id=50_000 + i)


def test_fifty_at_once_with_replays_and_a_forgery_store_each_valid_delivery_exactly_once(env: Env) -> None:
    made = env.add("github")
    sends: list[tuple[str, str, dict[str, str]]] = []  # (delivery id, body, headers)
    for i in range(40):
        event, payload = _distinct_github(i)
        body, delivery = dumps(payload), str(uuid.uuid4())
        sends.append((delivery, body, github_headers(made.secret, body, event, delivery)))
    sends += [sends[i] for i in range(9)]  # redeliveries, racing their originals
    forged_body = dumps(github_push([("f" * 40, "2026-11-30T09:00:00Z")], after="f" * 40))
    forged_id = str(uuid.uuid4())
    sends.append((forged_id, forged_body, github_headers("not-the-secret", forged_body, "push", forged_id)))
    start = threading.Barrier(len(sends))

    def send(item: tuple[str, str, dict[str, str]]) -> Reply:
        start.wait()
        return env.post(made.path, item[1], item[2])

    with ThreadPoolExecutor(len(sends)) as pool:
        replies = list(pool.map(send, sends))

    assert replies[-1].status == 401
    assert all(r.status == 200 for r in replies[:-1]), [(r.status, r.body) for r in replies if r.status != 200]
    outcomes: dict[str, list[str]] = {}
    for (delivery, _, _), reply in zip(sends[:-1], replies[:-1], strict=True):
        outcomes.setdefault(delivery, []).append(reply.json()["outcome"])
    assert all(o.count("stored") == 1 and o.count("already stored") == len(o) - 1 for o in outcomes.values()), outcomes
    assert env.counts(made.id) == (40, 40)  # one event each: a commit, or a deployment
    with env.db.sessions() as s:
        ids = set(s.scalars(select(SignalDelivery.delivery_id).where(SignalDelivery.source_id == made.id)))
    assert ids == set(outcomes) and forged_id not in ids


def test_a_rotated_secret_and_a_removed_source_take_effect_at_once_despite_the_cache(env: Env) -> None:
    made = env.add("events")
    old = {"Content-Type": "application/json", "Authorization": f"Bearer {made.secret}"}

    def event(n: int) -> str:
        return json.dumps({"type": "incident_opened", "id": f"INC-{n}", "at": "2026-11-30T10:00:00Z"})

    assert env.post(made.path, event(1), old).status == 200  # the source is in the web process's cache now
    new = re.search(r"^token: (\S+)$", env.cli("signals", "rotate", made.id), re.M)
    assert new is not None
    assert env.post(made.path, event(2), old).status == 401  # the writer saw the change: checked again
    fresh = {**old, "Authorization": f"Bearer {new.group(1)}"}
    assert env.post(made.path, event(3), fresh).status == 200  # the cached copy refused it: looked up again
    assert [r.external_id for r in env.events(made.id)] == ["INC-1", "INC-3"]
    assert "removed source" in env.cli("signals", "remove", made.id)
    assert env.post(made.path, event(4), fresh).status == 404


# --- MLflow: model documentation and lineage ---------------------------------------------------


def _mlflow_example(example: str, **data: object) -> str:
    """A documented MLflow example (tests/data/webhooks/mlflow), sent now, as `json.dumps` of the envelope."""
    from datetime import UTC, datetime

    from conftest import DATA

    payload = json.loads((DATA / "webhooks" / "mlflow" / f"{example}.json").read_text())
    payload["timestamp"] = datetime.now(UTC).isoformat()
    payload["data"].update(data)
    return json.dumps(payload)


def test_mlflow_versions_documented_at_registration_or_by_a_later_card_and_linked_to_their_run(env: Env) -> None:
    made = env.add("mlflow", "--channel", "C0DOCS")
    documented = _mlflow_example("model_version_created")
    bare = _mlflow_example("model_version_created", version="2", run_id=None, description=None, tags={})
    card = _mlflow_example("model_version_tag_set", version="2", key="Model-Card", value="https://wiki/card")
    other_tag = _mlflow_example("model_version_tag_set", version="2")
    for body in (documented, bare, card):
        reply = env.post(made.path, body, mlflow_headers(made.secret, body))
        assert reply.status == 200, reply.body
    assert env.post(made.path, other_tag, mlflow_headers(made.secret, other_tag)).status == 202
    assert env.post(made.path, card, mlflow_headers("forged", card)).status == 401

    assert [(r.type, r.version, r.status, r.category, r.name) for r in env.events(made.id)] == [
        ("training_run", "1", "documented", "run", None),
        ("training_run", "2", "undocumented", None, None),
        ("model_documented", "2", None, None, "Model-Card"),
    ]
    shown = json.loads(env.cli("signals", "show", "--channel", "C0DOCS", "--json"))
    assert (shown["model_versions"], shown["documented_share"], shown["tracked_share"]) == (2, 1.0, 0.5)
    assert (shown["documented_band"], shown["tracked_band"]) == ("95% or more", "25-74%")


# --- what `compass signals add` prints, pasted -------------------------------------------------


def test_what_signals_add_prints_works_as_pasted(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys
    import types

    import yaml

    def added(kind: str) -> str:
        cli_env = {"DATABASE_URL": env.url, "COMPASS_PUBLIC_URL": env.app.url}
        result = CliRunner().invoke(main, ["signals", "add", kind, "--channel", "C0PASTE"], env=cli_env)
        assert result.exit_code == 0, result.output
        return result.output

    def value(out: str, label: str) -> str:
        found = re.search(rf"^   {label}: (\S+)$", out, re.M)
        assert found is not None, out
        return found.group(1)

    def block(out: str, first: str) -> str:
        start = out.index(f"\n{first}") + 1
        return out[start : out.index("\n\n", start)]

    out = added("github")
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1})
    headers = github_headers(value(out, "Secret"), ping, "ping")
    assert request("POST", value(out, "Payload URL"), ping, headers).status == 200

    out = added("gitlab")
    body = dumps(gitlab_deployment(deployment_id=9_001))
    headers = gitlab_headers(value(out, "Secret token"), "Deployment Hook")
    assert request("POST", value(out, "URL"), body, headers).status == 200

    # MLflow's call, run against a stand-in for its client that keeps what it was given
    out = added("mlflow")
    given: list[dict[str, object]] = []
    mlflow_stub = types.ModuleType("mlflow")
    mlflow_stub.MlflowClient = type("MlflowClient", (), {"create_webhook": lambda self, **kw: given.append(kw)})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlflow", mlflow_stub)
    exec(block(out, "from mlflow import MlflowClient"), {})
    (webhook,) = given
    body = _mlflow_example("model_version_created", name="pasted")
    reply = request("POST", str(webhook["url"]), body, mlflow_headers(str(webhook["secret"]), body))
    assert reply.status == 200, reply.body

    # the token line and the deployment's curl line, run by bash as a pipeline step would
    out = added("events")
    token_line, deployment_line, _check = block(out, "COMPASS_TOKEN=").splitlines()
    ran = subprocess.run(["bash", "-c", f"{token_line}\n{deployment_line}"], capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr
    assert '"outcome": "stored"' in ran.stdout or '"outcome":"stored"' in ran.stdout, ran.stdout

    # Alertmanager's receiver: its URL and bearer token get past the source lookup and the token check
    out = added("alertmanager")
    (receiver,) = yaml.safe_load(block(out, "receivers:"))["receivers"]
    (hook,) = receiver["webhook_configs"]
    bearer = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {hook['http_config']['authorization']['credentials']}",
    }
    assert request("POST", hook["url"], json.dumps({"version": "4", "alerts": []}), bearer).status not in (401, 404)
