"""`compass signals add|list|remove|rotate|import|show`: the sources of delivery signals and what they measured."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from bot.app import delivery
from bot.app import signals as use
from bot.cli import common
from bot.domain.delivery_metrics import DeliveryMetrics
from bot.domain.ingest.common import PayloadError
from bot.domain.signals import SourceKind

_SECRET_NAMES = {
    SourceKind.GITHUB: ("secret", "GitHub: the webhook's Secret (Settings > Webhooks)"),
    SourceKind.GITLAB: ("token", "GitLab: the webhook's Secret token (Settings > Webhooks)"),
    SourceKind.MLFLOW: ("secret", "MLflow: create_webhook(..., secret=...)"),
    SourceKind.EVENTS: ("token", "send it as the header Authorization: Bearer <token>"),
    SourceKind.ALERTMANAGER: ("token", "Alertmanager: the receiver's http_config.authorization.credentials"),
}


@click.group()
def signals() -> None:
    """Delivery signals: the GitHub, GitLab, MLflow and CI sources that report to a team channel."""


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _print_secret(kind: SourceKind, secret: str | None) -> None:
    if secret is not None:
        label, where = _SECRET_NAMES[kind]
        click.echo(f"{label}: {secret}")
        click.echo(f"({where}. It is shown this once: `compass signals rotate` makes a new one.)")


@signals.command("add")
@click.argument("kind", type=click.Choice([k.value for k in SourceKind]))
@click.option("--channel", required=True, help="The team channel (C...) whose digest shows the signals.")
@click.option("--team", default=None, help="Slack team id (T...); needed only when Compass knows several.")
@click.option("--secret", default=None, help="Use this secret or token rather than a generated one.")
@click.option("--environment", default=use.DEFAULT_ENVIRONMENT, show_default=True, help="The production environment.")
@click.option(
    "--training-pattern",
    default=use.DEFAULT_TRAINING_PATTERN,
    show_default=True,
    help="GitHub: a workflow whose name contains this (any case) is a training run.",
)
@click.option(
    "--serving-alias",
    "serving_aliases",
    multiple=True,
    help="MLflow: an alias that means serving (repeatable; default production and champion).",
)
@click.option(
    "--checks",
    default="",
    help="GitHub, GitLab: comma-separated patterns; a workflow or pipeline whose name contains one (any case) "
    'is a check, e.g. "data validation,model tests".',
)
def add(
    *,  # click passes every argument and option by name
    kind: str,
    channel: str,
    team: str | None,
    secret: str | None,
    environment: str,
    training_pattern: str,
    serving_aliases: tuple[str, ...],
    checks: str,
) -> None:
    """Create a source; prints its id, its webhook path and (when generated) its secret, once."""
    config = common.settings()
    database = common.database(config)
    source_kind = SourceKind(kind)
    try:
        created = use.add_source(
            database.sessions,
            source_kind,
            channel.strip(),
            common.now(),
            created_by=_who(),
            team=team,
            secret=secret,
            environment=environment,
            training_pattern=training_pattern,
            serving_aliases=serving_aliases or use.DEFAULT_SERVING_ALIASES,
            check_patterns=checks.split(","),
        )
    except use.SourceProblem as exc:
        common.fail(str(exc))
    finally:
        database.dispose()
    click.echo(f"source {created.source.id} ({kind}) for channel {created.source.channel_id}")
    click.echo(f"webhook path: {created.source.path}  (POST https://<your Compass host>{created.source.path})")
    _print_secret(source_kind, created.secret)


@signals.command("list")
@click.option("--channel", default=None, help="Only this channel's sources.")
def list_(channel: str | None) -> None:
    """Every source: id, kind, channel, environment, webhook path (never the secrets)."""
    config = common.settings()
    database = common.database(config)
    try:
        found = use.list_sources(database.sessions, channel)
    finally:
        database.dispose()
    if not found:
        click.echo("No signal sources yet: `compass signals add github --channel C...` creates one.")
        return
    for s in found:
        extra = f"training: {s.training_pattern!r}" if s.kind is SourceKind.GITHUB else ""
        if s.kind is SourceKind.MLFLOW:
            extra = f"serving aliases: {', '.join(s.serving_aliases)}"
        if s.check_patterns:
            extra = f"{extra}  checks: {', '.join(repr(p) for p in s.check_patterns)}".strip()
        click.echo(f"{s.id}  {s.kind.value:<6}  {s.channel_id}  env {s.environment}  {s.path}  {extra}".rstrip())


@signals.command("remove")
@click.argument("source_id")
def remove(source_id: str) -> None:
    """Delete a source with every delivery and event it sent."""
    config = common.settings()
    database = common.database(config)
    try:
        removed = use.remove(database.sessions, source_id)
    finally:
        database.dispose()
    if not removed:
        common.fail(f"no source {source_id!r}")
    click.echo(f"removed source {source_id} and its events")


@signals.command("rotate")
@click.argument("source_id")
@click.option("--secret", default=None, help="Use this secret or token rather than a generated one.")
def rotate(source_id: str, secret: str | None) -> None:
    """Give a source a new secret (or token), printed once; the old one stops working at once."""
    config = common.settings()
    database = common.database(config)
    try:
        rotated = use.rotate(database.sessions, source_id, secret)
    except use.SourceProblem as exc:
        common.fail(str(exc))
    finally:
        database.dispose()
    click.echo(f"new secret for source {source_id} ({rotated.source.kind.value})")
    _print_secret(rotated.source.kind, rotated.secret)


@signals.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_id", required=True, help="The source (any kind) the events belong to.")
def import_(file: Path, source_id: str) -> None:
    """Load JSON Lines of generic events (the /signals/events format) for a backfill; all or nothing."""
    config = common.settings()
    database = common.database(config)
    try:
        with file.open(encoding="utf-8") as lines:
            report = use.import_events(database.sessions, source_id, lines, common.now())
    except use.SourceProblem as exc:
        common.fail(str(exc))
    except PayloadError as exc:
        common.fail(f"{file}: {exc}; nothing was imported")
    finally:
        database.dispose()
    click.echo(f"imported {report.lines} event(s) into source {source_id}: {report.stored} new")


# --- compass signals show ------------------------------------------------------------------


@signals.command("show")
@click.option("--channel", required=True, help="The team channel's id (C...) the sources belong to.")
@click.option("--days", type=click.IntRange(min=1, max=3650), default=90, show_default=True, help="The window.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as a JSON object (null where no data).")
def show(channel: str, days: int, as_json: bool) -> None:
    """Print a channel's delivery metrics with their DORA bands."""
    config = common.settings()
    database = common.database(config)
    try:
        if not delivery.has_signals(database.sessions, channel):
            common.fail(f"{channel} has no signal sources; add one with `compass signals add`.")
        metrics = delivery.delivery_metrics(database.sessions, channel, common.now(), days)
    finally:
        database.dispose()
    if as_json:
        click.echo(json.dumps({"channel": channel, **metrics.as_json_dict()}, indent=2))
    else:
        click.echo("\n".join(describe_metrics(channel, metrics)))


def describe_metrics(channel: str, m: DeliveryMetrics) -> list[str]:
    """One line per metric with its band, "no data" where there is none."""

    def line(name: str, text: str | None) -> str:
        return f"  {name:<26}{text if text is not None else 'no data'}"

    def band(value: object) -> str:
        return "" if value is None else f" ({value})"

    freq = m.deployment_frequency_per_week
    rate = m.change_failure_rate
    lead = m.lead_time_hours_p50
    restore = m.time_to_restore_hours_p50
    runs = m.training_runs_per_month_per_model
    age = m.model_age_days
    return [
        f"Delivery signals for {channel}, last {m.window_days} days",
        line(
            "Deployment frequency",
            None
            if freq is None
            else f"{freq:.1f} per week{band(m.deployment_frequency_band)}, {_count(m.deployments, 'deployment')}",
        ),
        line("Lead time (median)", None if lead is None else f"{_hours(lead)}{band(m.lead_time_band)}"),
        line(
            "Change failure rate",
            None
            if rate is None
            else f"{rate:.0%}{band(m.change_failure_band)}, {_count(m.failed_deployments, 'failed deployment')}",
        ),
        line(
            "Time to restore (median)", None if restore is None else f"{_hours(restore)}{band(m.time_to_restore_band)}"
        ),
        line(
            "Training runs",
            None if runs is None else f"{m.training_runs}, {runs:.1f} per month per model{band(m.training_band)}",
        ),
        line("Model deployments", str(m.model_deployments) if m.model_deployments else None),
        line("Model age (median)", None if age is None else f"{age:.1f} days"),
        *_check_lines(m),
    ]


def _check_lines(m: DeliveryMetrics) -> list[str]:
    lines = []
    for name, c in m.checks.items():
        value = "" if c.last_value is None else f", value {c.last_value:g}"
        lines.append(
            f"  Check {name}: {c.passed}/{c.runs} passed ({c.band.value}), latest {c.last_status}"
            f" {c.last_at:%Y-%m-%d %H:%M}{value}"
        )
    return lines


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"
