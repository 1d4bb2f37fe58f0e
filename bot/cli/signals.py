"""`compass signals add|list|remove|rotate|import|show`: the sources of delivery signals and what they measured."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path

import click

from bot.app import delivery
from bot.app import signals as use
from bot.app.signal_setup import guide_for
from bot.cli import common
from bot.domain.delivery_metrics import DeliveryMetrics
from bot.domain.ingest.common import PayloadError
from bot.domain.signal_setup import SetupGuide, webhook_url
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
    "--alert-label",
    default=use.DEFAULT_ALERT_LABEL,
    show_default=True,
    help="Alertmanager: the label whose value says what an alert concerns (drift, model_quality, service).",
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
    alert_label: str,
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
            alert_label=alert_label.strip() or use.DEFAULT_ALERT_LABEL,
            check_patterns=checks.split(","),
        )
    except use.SourceProblem as exc:
        common.fail(str(exc))
    finally:
        database.dispose()
    guide = guide_for(created, config.COMPASS_PUBLIC_URL)
    click.echo(f"source {created.source.id} ({kind}) for channel {created.source.channel_id}")
    click.echo(
        f"webhook path: {created.source.path}  (POST {webhook_url(config.COMPASS_PUBLIC_URL, created.source.path)})"
    )
    click.echo("\n".join(setup_lines(guide, created.source.id)))


def setup_lines(guide: SetupGuide, source_id: str) -> list[str]:
    """The guide as plain text: numbered steps, the values to copy one per line, code unindented
    between blank lines so that it pastes as it is."""
    lines = ["", f"{guide.title}:"]
    for number, step in enumerate(guide.steps, start=1):
        lines.append(f"{number}. {step.text}")
        for field in step.fields:
            lines.append(f"   {field.label}: {field.value}" + (f"  ({field.note})" if field.note else ""))
        if step.ticks:
            lines.append("   " + ", ".join(step.ticks))
        if step.code is not None:
            lines.extend(["", step.code, ""])
    if guide.url_is_placeholder:
        lines.append("(Set COMPASS_PUBLIC_URL to Compass's public address to see the full URL here.)")
    if guide.secret_shown:
        lines.append(
            f"(The {guide.secret_name} is shown this once: `compass signals rotate {source_id}` makes a new one.)"
        )
    return lines


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
        if s.kind is SourceKind.ALERTMANAGER:
            extra = f"alert label: {s.alert_label}"
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
        line(
            "Reviewed before merge",
            None
            if m.reviewed_share is None
            else f"{m.reviewed_share:.0%}{band(m.reviewed_share_band)} of {_count(m.changes_merged, 'merged change')}",
        ),
        line(
            "First review (median)",
            None if m.review_hours_p50 is None else f"{_hours(m.review_hours_p50)}{band(m.review_time_band)}",
        ),
        line("Time to merge (median)", None if m.merge_hours_p50 is None else _hours(m.merge_hours_p50)),
        line("Model versions documented", _share(m.documented_share, m.model_versions, m.documented_band)),
        line("Model versions from a run", _share(m.tracked_share, m.model_versions, m.tracked_band)),
        *_alert_lines(m, line),
        *_check_lines(m),
    ]


def _alert_lines(m: DeliveryMetrics, line: Callable[[str, str | None], str]) -> list[str]:
    seen = m.alerts_fired or m.alerts_resolved or m.alerts_by_category
    resolve = m.alert_time_to_resolve_hours_p50
    categories = ", ".join(f"{c.category} {c.fired}/{c.resolved} ({c.band.value})" for c in m.alerts_by_category)
    return [
        line("Alerts fired / resolved", f"{m.alerts_fired} / {m.alerts_resolved}" if seen else None),
        line("Alert resolve (median)", None if resolve is None else f"{_hours(resolve)} ({m.alert_resolution_band})"),
        line("Alerts by category", categories or None),
    ]


def _share(share: float | None, versions: int, band: object) -> str | None:
    return None if share is None else f"{share:.0%} of {_count(versions, 'version')} ({band})"


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
