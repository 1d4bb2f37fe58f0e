"""The scheduler's job on the Slack side: a workspace's client bound to the scheduled run.

``run_due`` runs the use case (bot/app/scheduled_run.py) in one workspace through the Slack adapter
of its port (bot/slack/messenger.py); ``run_all_due`` does so in every installed workspace, each
with its own token, after ``end_idle_sessions`` (team sessions idle too long, each announced with
its workspace's token). What is due, what to do when Slack refuses and what the run reports are decided
there, not here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk import WebClient

from bot.app import installs, scheduled_run
from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.app.scheduled_run import RunReport
from bot.domain.digest import Digest
from bot.slack.messenger import SlackMessenger
from bot.slack.pacing import Pacer
from bot.slack.sender import Sender
from bot.slack.tokens import NotInstalled, Tenant, TokenSource

log = logging.getLogger(__name__)


def messenger(
    ctx: AppContext, client: WebClient, settings: OutreachSettings, pacer: Pacer | None = None
) -> SlackMessenger:
    """The port on ``client``, its posts paced at the configured rate (or by ``pacer``)."""
    return SlackMessenger(client, Sender(client, pacer or Pacer(settings.send_rate)), ctx.bank)


def run_due(
    ctx: AppContext, client: WebClient, settings: OutreachSettings, now: datetime, pacer: Pacer | None = None
) -> RunReport:
    """Send every digest, invitation and reminder due at ``now`` in the client's workspace, each at most once."""
    return scheduled_run.run_due(ctx, messenger(ctx, client, settings, pacer), settings, now)


def end_idle_sessions(
    ctx: AppContext, tokens: TokenSource, settings: OutreachSettings, now: datetime, pacer: Pacer | None = None
) -> RunReport:
    """End the team sessions idle for too long, in every workspace, each announced with its workspace's token."""

    def messenger_for(team: str) -> SlackMessenger | None:
        try:
            return messenger(ctx, tokens.client_for(Tenant(None, team)), settings, pacer)
        except NotInstalled:
            return None

    return scheduled_run.end_idle_sessions(ctx, messenger_for, now)


def run_all_due(
    ctx: AppContext, tokens: TokenSource, settings: OutreachSettings, now: datetime, pacer: Pacer | None = None
) -> RunReport:
    """The idle team sessions ended, then ``run_due`` in every installed workspace, each with its own
    token; an uninstalled one is skipped, and one workspace's failure never stops the others."""
    total = RunReport()
    try:
        total.add(end_idle_sessions(ctx, tokens, settings, now, pacer))
    except Exception:
        total.failures += 1
        log.exception("ending the idle team sessions failed; the next tick tries again")
    stopped = installs.stopped_workspaces(ctx.sessions)
    for tenant in tokens.tenants():
        if tenant.team_id in stopped:
            continue
        try:
            client = tokens.client_for(tenant)
        except NotInstalled:
            continue  # uninstalled since the list was read
        if tenant.enterprise_id and tenant.team_id:  # the workspace's row records its organisation
            installs.seen(ctx.sessions, tenant.team_id, tenant.enterprise_id, now)
        if tenant.team_id is None:  # the one workspace of SLACK_BOT_TOKEN: as it always ran
            total.add(run_due(ctx, client, settings, now, pacer))
            continue
        try:
            total.add(run_due(ctx, client, settings, now, pacer))
        except Exception:
            total.failures += 1
            log.exception("the scheduled run in workspace %s failed; the others go on", tenant.team_id)
    return total


def post_digest_now(
    ctx: AppContext, client: WebClient, settings: OutreachSettings, channel: str, now: datetime
) -> Digest:
    """``compass digest --channel C --now``: refresh the team and post a digest at once."""
    return scheduled_run.post_digest_now(ctx, messenger(ctx, client, settings), settings, channel, now)
