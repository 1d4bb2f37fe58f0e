"""`compass jobs run-due`, `compass digest`, `compass db upgrade|reencrypt`, `compass status`: for operators."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from bot.app import health, installs, rights
from bot.cli import common
from bot.cli.serve import background_deps, background_tokens
from bot.db import setup
from bot.db.session import SessionFactory
from bot.db.setup import connect, open_database
from bot.domain.rights import Retention, deleted_summary
from bot.run import installations, wiring
from bot.slack import scheduled
from bot.slack.tokens import NotInstalled, OneWorkspace, Tenant


@click.group()
def jobs() -> None:
    """Scheduled work, run by hand (or from cron)."""


@jobs.command("run-due")
@click.option("--at", "at", default=None, help="Pretend it is this ISO time (default: now), e.g. 2026-12-01T10:30:00Z.")
def jobs_run_due(at: str | None) -> None:
    """Delete what retention lets go, end the team sessions idle for 72 hours, send every digest, invitation and
    reminder due at that time, once, then exit."""
    config = common.settings()
    when = _parse_time(at) if at else common.now()
    if config.distributed:  # every installed workspace, each with its token; first the purges that are due
        deps, tokens, _ = background_tokens(config)
        _retention(deps.ctx.sessions, config.COMPASS_RETENTION_DAYS, when)
        purged = installs.purge_due(deps.ctx.sessions, when)
        if purged:
            click.echo(f"purged the data of uninstalled workspace(s): {', '.join(purged)}")
        click.echo(str(scheduled.run_all_due(deps.ctx, tokens, wiring.outreach_settings(config), when)))
        return
    deps, client = background_deps(config)
    _retention(deps.ctx.sessions, config.COMPASS_RETENTION_DAYS, when)
    settings = wiring.outreach_settings(config)
    report = scheduled.end_idle_sessions(deps.ctx, OneWorkspace(client), settings, when)
    report.add(scheduled.run_due(deps.ctx, client, settings, when))
    click.echo(str(report))


def _retention(sessions: SessionFactory, days: int, when: datetime) -> None:
    deleted = rights.purge_expired(sessions, Retention(days), when)
    click.echo(f"retention: deleted {deleted_summary(deleted)}")


def _parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        common.fail(f"--at {text!r} is not an ISO time such as 2026-12-01T10:30:00Z")
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command()
@click.option("--channel", required=True, help="Channel id (C...) that has a digest set up.")
@click.option("--now", "now_flag", is_flag=True, required=True, help="Post at once rather than on the schedule.")
@click.option("--team", default=None, help="The workspace (T...) of the channel: needed when the app is distributed.")
def digest(channel: str, now_flag: bool, team: str | None) -> None:
    """Post a team digest to a channel right away."""
    config = common.settings()
    if config.distributed:
        if not team:
            common.fail("--team T...: the distributed app serves several workspaces; name the channel's")
        deps, tokens, _ = background_tokens(config)
        try:
            client = tokens.client_for(Tenant(None, team))
        except NotInstalled as exc:
            common.fail(str(exc))
    else:
        deps, client = background_deps(config)
    try:
        result = scheduled.post_digest_now(deps.ctx, client, wiring.outreach_settings(config), channel, common.now())
    except (LookupError, RuntimeError) as exc:
        common.fail(str(exc))
    shown = "with team figures" if result.visible else f"without figures ({result.needed} more answers needed)"
    click.echo(f"digest posted to {channel}: {result.respondents} of {result.members} members assessed, {shown}")


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Run the migrations up to the newest schema (the release step)."""
    config = common.settings()
    database = open_database(config.DATABASE_URL, auto_migrate=False, check_schema=False)
    try:
        done = setup.upgrade(database.engine)
    finally:
        database.dispose()
    if done.changed:
        click.echo(f"Upgraded the database from {done.before or 'an empty database'} to {done.after}.")
    else:
        click.echo(f"The database is already at the newest schema ({done.after}).")


@db.command("reencrypt")
def db_reencrypt() -> None:
    """Re-encrypt every stored Slack token with the first key of COMPASS_ENCRYPTION_KEY (after a key rotation).

    Tokens stored in plain text get encrypted. All or nothing: a token no key decrypts stops it, changing nothing.
    """
    config = common.settings()
    if not config.encryption_keys:
        common.fail("COMPASS_ENCRYPTION_KEY is not set: there is no key to re-encrypt the stored tokens with", 2)
    database = common.database(config)
    try:
        done = installations.reencrypt(database.engine, installations.Cipher(config.encryption_keys))
    except installations.EncryptionKeyProblem as exc:
        common.fail(str(exc))
    finally:
        database.dispose()
    click.echo(str(done))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def status(as_json: bool) -> None:
    """Is the deployment well? The database and its schema, live workers, the queue, the scheduler.

    Exits 0 when healthy and 1 with the reasons when not (the same verdict as /healthz's 503).
    """
    config = common.settings()
    database = connect(config.DATABASE_URL)
    try:
        report = health.check_health(database.sessions, common.now())
    finally:
        database.dispose()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo("\n".join(health.describe(report)))
    if not report.ok:
        sys.exit(1)
