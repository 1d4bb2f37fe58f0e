"""Delivery signals: what the systems a team already uses say happened, normalised.

Every source (GitHub, GitLab, MLflow, any CI through the generic events API) is reduced
to the same few kinds of event, one ``SignalEvent`` each, which is all the metrics read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SourceKind(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    MLFLOW = "mlflow"
    EVENTS = "events"  # the generic API: any CI or a pipeline step with curl
    ALERTMANAGER = "alertmanager"  # Prometheus Alertmanager's webhook receiver


class SignalType(StrEnum):
    DEPLOYMENT = "deployment"  # a successful deployment
    DEPLOYMENT_FAILED = "deployment_failed"
    CHANGE = "change"  # one commit, as pushed
    INCIDENT_OPENED = "incident_opened"
    INCIDENT_RESOLVED = "incident_resolved"
    TRAINING_RUN = "training_run"
    MODEL_DEPLOYED = "model_deployed"  # a model version took the serving alias
    ALERT_FIRING = "alert_firing"  # an alert started firing
    ALERT_RESOLVED = "alert_resolved"  # that alert resolved
    CHECK = "check"  # one run of a named check in a pipeline (data validation, model tests, coverage)
    REVIEW_OPENED = "review_opened"  # a pull or merge request was opened
    REVIEWED = "reviewed"  # someone other than its author reviewed or approved it
    REVIEW_MERGED = "review_merged"  # it was merged
    MODEL_DOCUMENTED = "model_documented"  # a model card was set on a registered version after it was made


@dataclass(frozen=True)
class SignalEvent:
    """One normalised event. ``external_id`` is unique per source and type (a deployment's id, a
    commit's sha, an incident's number, a run's id), so a repeated event is stored once.

    Fields by type:
    - deployment / deployment_failed: ``sha`` (the deployed commit), ``environment``
    - change: ``sha`` (the commit), ``at`` the commit's time, ``head`` the sha of the push's head
      commit it arrived with, ``pushed_at`` when that push happened, ``name`` the ref it was pushed
      to (``refs/heads/main``; None from the generic events API)
    - incident_opened / incident_resolved: ``external_id`` names the incident; ``root_cause`` the
      sha of the deployment that caused it, when known
    - training_run: ``model``; from a model registry (MLflow's model_version.created) also
      ``version``, ``status`` ``documented`` when the version was registered with a description or
      a model-card tag (bot/domain/model_documentation.py) else ``undocumented``, and ``category``
      ``run`` when the registry links it to the tracked run that made it (None otherwise). A
      training run without a status (a CI workflow, the generic API) is not a registered version.
    - model_deployed: ``model``, ``version``, ``version_at`` (when that version was created)
    - alert_firing / alert_resolved: ``name`` the alert's name, ``category`` what it concerns
      (the source's alert label: drift, model_quality, service, ...); opened and resolved share
      ``external_id``
    - check: ``name`` the check, ``status`` passed or failed, ``value`` a number it measured
    - review_opened / reviewed / review_merged: ``name`` the pull or merge request
    - model_documented: ``model``, ``version`` (the registered version a model card was set on
      later, MLflow's model_version_tag.set), ``name`` the tag
    """

    type: SignalType
    external_id: str
    at: datetime
    environment: str | None = None
    sha: str | None = None
    head: str | None = None
    pushed_at: datetime | None = None
    root_cause: str | None = None
    model: str | None = None
    version: str | None = None
    version_at: datetime | None = None
    name: str | None = None
    status: str | None = None
    value: float | None = None
    category: str | None = None
