"""What to paste on the sender's side to connect a new signal source, for every kind.

One guide, as plain structured steps, that both `compass signals add` (plain text) and
`/compass signals add` (Slack mrkdwn) render: a sentence, the values to copy, the items to tick
in the sender's settings, and a block to paste as it is (a Python call, YAML, curl lines).

The secret or token appears once in a guide, where it is pasted; the surfaces never show it again.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.alertmanager_receiver import RECEIVER_NAME, alertmanager_receiver_yaml
from bot.domain.signals import SourceKind

PLACEHOLDER_HOST = "https://YOUR-HOST"  # until COMPASS_PUBLIC_URL is set (as in the Slack manifests)

# The events each sender's settings offer, by the names its settings page shows.
GITHUB_EVENTS = (
    "Deployment statuses",
    "Pushes",
    "Issues",
    "Workflow runs",
    "Pull requests",
    "Pull request reviews",
)
GITLAB_TRIGGERS = ("Push events", "Deployment events", "Issues events", "Pipeline events", "Merge request events")
# MLflow 3.3+'s event names (mlflow/entities/webhook.py): versions, serving aliases, model cards set later.
MLFLOW_EVENTS = ("model_version.created", "model_version_alias.created", "model_version_tag.set")


def webhook_url(public_url: str | None, path: str) -> str:
    """The full URL a sender posts to: the public URL Compass is configured with, or a placeholder."""
    return (public_url.rstrip("/") if public_url else PLACEHOLDER_HOST) + path


@dataclass(frozen=True)
class Field:
    """A value to copy into a named box of the sender's settings; ``note`` says more, in words."""

    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Step:
    text: str
    fields: tuple[Field, ...] = ()
    ticks: tuple[str, ...] = ()  # settings to tick, by the names the sender's page shows
    code: str | None = None  # to paste as it is; no blank line inside (the terminal frames it with blank lines)
    language: str = ""  # of the code: python, yaml, sh


@dataclass(frozen=True)
class SetupSource:
    """What a guide needs of a source: its settings, its full URL and the secret (None when the
    person chose their own and it was not shown)."""

    kind: SourceKind
    source_id: str
    url: str
    secret: str | None
    environment: str = "production"
    training_pattern: str = "train"
    serving_aliases: tuple[str, ...] = ("production", "champion")
    check_patterns: tuple[str, ...] = ()
    alert_label: str = "compass_kind"


@dataclass(frozen=True)
class SetupGuide:
    title: str
    steps: tuple[Step, ...]
    url_is_placeholder: bool
    secret_shown: bool
    secret_name: str  # "secret" (signed with) or "token" (sent as it is)


def setup_guide(source: SetupSource) -> SetupGuide:
    """The steps that connect ``source``'s sender to Compass."""
    steps = {
        SourceKind.GITHUB: _github,
        SourceKind.GITLAB: _gitlab,
        SourceKind.MLFLOW: _mlflow,
        SourceKind.EVENTS: _events,
        SourceKind.ALERTMANAGER: _alertmanager,
    }[source.kind](source)
    return SetupGuide(
        title=_TITLES[source.kind],
        steps=steps,
        url_is_placeholder=source.url.startswith(PLACEHOLDER_HOST),
        secret_shown=source.secret is not None,
        secret_name="secret" if source.kind in (SourceKind.GITHUB, SourceKind.MLFLOW) else "token",
    )


_TITLES = {
    SourceKind.GITHUB: "Connect the GitHub repository",
    SourceKind.GITLAB: "Connect the GitLab project",
    SourceKind.MLFLOW: "Connect the MLflow model registry",
    SourceKind.EVENTS: "Send events from any CI",
    SourceKind.ALERTMANAGER: "Connect Prometheus Alertmanager",
}


def _secret(source: SetupSource) -> str:
    if source.secret is not None:
        return source.secret
    return (
        "<the secret you chose>" if source.kind in (SourceKind.GITHUB, SourceKind.MLFLOW) else "<the token you chose>"
    )


def _listed(values: Sequence[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _github(source: SetupSource) -> tuple[Step, ...]:
    checks = (
        f"Workflow runs whose name contains {_listed(source.check_patterns)} are checks."
        if source.check_patterns
        else "No check patterns are set, so no workflow run counts as a check."
    )
    return (
        Step(
            "In the repository: Settings → Webhooks → Add webhook.",
            fields=(
                Field("Payload URL", source.url),
                Field("Content type", "application/json", "or GitHub's default, application/x-www-form-urlencoded"),
                Field("Secret", _secret(source)),
            ),
        ),
        Step('Choose "Let me select individual events" and tick:', ticks=GITHUB_EVENTS),
        Step(
            "Add webhook: GitHub sends a ping, which Compass answers. Deployments count for the environment "
            f"`{source.environment}`; issues labelled `incident` are incidents; workflow runs whose name "
            f"contains `{source.training_pattern}` are training runs. {checks}"
        ),
    )


def _gitlab(source: SetupSource) -> tuple[Step, ...]:
    return (
        Step(
            "In the project: Settings → Webhooks → Add new webhook.",
            fields=(Field("URL", source.url), Field("Secret token", _secret(source))),
        ),
        Step("Tick the triggers:", ticks=GITLAB_TRIGGERS),
        Step(
            f"Add webhook. Deployments count for the environment `{source.environment}` or any environment of "
            "tier production; issues labelled `incident` are incidents."
        ),
    )


def _mlflow(source: SetupSource) -> tuple[Step, ...]:
    call = "\n".join(
        [
            "from mlflow import MlflowClient",
            "MlflowClient().create_webhook(",
            # JSON strings are Python string literals too, quoted as black would.
            f"    name={json.dumps(RECEIVER_NAME)},",
            f"    url={json.dumps(source.url)},",
            f"    events={json.dumps(list(MLFLOW_EVENTS))},",
            f"    secret={json.dumps(_secret(source))},",
            ")",
        ]
    )
    return (
        Step(
            "MLflow 3.3 or later, with a SQL backend (registry webhooks are experimental in MLflow). "
            "With MLFLOW_TRACKING_URI set to your tracking server, run once:",
            code=call,
            language="python",
        ),
        Step(
            f"A new model version is a training run; a serving alias ({_listed(source.serving_aliases)}) set on a "
            "version is a model deployment. A version registered with a description or a `model_card` tag (or given "
            "one later) is documented; one registered from a run is tracked."
        ),
    )


def _events(source: SetupSource) -> tuple[Step, ...]:
    now = "'\"$(date -u +%FT%TZ)\"'"
    deployment = (
        f'{{"type":"deployment","id":"build-42","at":"{now}","sha":"<commit sha>",'
        f'"environment":{json.dumps(source.environment)}}}'
    )
    check = f'{{"type":"check","id":"build-42-validation","at":"{now}","check":"data validation","status":"passed"}}'
    post = (
        f"curl -fsS -X POST {shlex.quote(source.url)} "
        '-H "Authorization: Bearer $COMPASS_TOKEN" -H "Content-Type: application/json" -d '
    )
    lines = [f"COMPASS_TOKEN={shlex.quote(_secret(source))}", f"{post}'{deployment}'", f"{post}'{check}'"]
    return (
        Step(
            "From a pipeline step, post each event as JSON with the token as a bearer token: "
            "a deployment, then a check.",
            code="\n".join(lines),
            language="sh",
        ),
        Step(
            "Every event has `type`, `id` (unique per type: a repeat is stored once) and `at` (ISO 8601). "
            "The other types (change, incident_opened, incident_resolved, training_run, model_deployed) are "
            "in docs/signals.md; `compass signals import` loads a backfill."
        ),
    )


def _alertmanager(source: SetupSource) -> tuple[Step, ...]:
    return (
        Step(
            "Add this receiver to alertmanager.yml (into your existing `receivers:` list):",
            code=alertmanager_receiver_yaml(source.url, _secret(source)),
            language="yaml",
        ),
        Step(
            f"Route the alerts to measure to it: a route with `receiver: {RECEIVER_NAME}` and `continue: true` "
            f"keeps them going to your other receivers. Reload Alertmanager. The label `{source.alert_label}` "
            "says what an alert concerns (drift, model_quality, service)."
        ),
    )
