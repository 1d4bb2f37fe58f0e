"""`compass signals add|list|remove|rotate|import`: the sources of delivery signals (issue 10)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from bot.app import signals as use
from bot.cli import common
from bot.domain.ingest.common import PayloadError
from bot.domain.signals import SourceKind

_SECRET_NAMES = {
    SourceKind.GITHUB: ("secret", "GitHub: the webhook's Secret (Settings > Webhooks)"),
    SourceKind.GITLAB: ("token", "GitLab: the webhook's Secret token (Settings > Webhooks)"),
    SourceKind.MLFLOW: ("secret", "MLflow: create_webhook(..., secret=...)"),
    SourceKind.EVENTS: ("token", "send it as the header Authorization: Bearer <token>"),
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
def add(
    kind: str,
    channel: str,
    team: str | None,
    secret: str | None,
    environment: str,
    training_pattern: str,
    serving_aliases: tuple[str, ...],
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
