"""The scheduler's job on the Slack side: post what bot/app/outreach.py says is due.

``run_due`` reads Slack's directory and each digest channel's members, asks the use
cases what is due at ``now``, and sends each message once: every send is claimed in
the sends ledger before it goes out, so a second scheduler, a crash or a restart never
repeats a message.

A digest over the respondent threshold gets its trend chart as the first reply in its thread,
once the run's digests are all out: the chart is best-effort, drawn and uploaded after the digest
is recorded as sent, so a chart that fails (or a missing files:write) never holds up, fails or
repeats a digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import digests, installs, outreach
from bot.app.context import AppContext
from bot.app.outreach import DirectoryEntry, OutreachSettings, Reminder
from bot.domain.digest import Digest, Subscription
from bot.domain.schedule import SendKey
from bot.slack.blocks.common import Message
from bot.slack.blocks.digest import build_digest_message, build_paused_digest_notice
from bot.slack.blocks.outreach import build_prompt_message, build_reminder_message
from bot.slack.directory import fetch_directory, fetch_members
from bot.slack.pacing import Pacer
from bot.slack.sender import Sender
from bot.slack.tokens import NotInstalled, TokenSource
from bot.slack.work.charts import send_digest_chart

log = logging.getLogger(__name__)

CHANNEL_GONE = ("not_in_channel", "channel_not_found", "is_archived", "access_denied")
USER_GONE = ("user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot")


@dataclass
class RunReport:
    digests: int = 0
    prompts: int = 0
    reminders: int = 0
    paused_channels: list[str] = field(default_factory=list)
    failures: int = 0
    skipped_outside_hours: int = 0

    def add(self, other: RunReport) -> None:
        self.digests += other.digests
        self.prompts += other.prompts
        self.reminders += other.reminders
        self.paused_channels.extend(other.paused_channels)
        self.failures += other.failures
        self.skipped_outside_hours += other.skipped_outside_hours

    def __str__(self) -> str:
        paused = f", paused digests: {', '.join(self.paused_channels)}" if self.paused_channels else ""
        return (
            f"digests posted: {self.digests}, invitations: {self.prompts}, reminders: {self.reminders}, "
            f"failures: {self.failures}, waiting for working hours: {self.skipped_outside_hours}{paused}"
        )


@dataclass
class Run:
    """One scheduled run in one workspace: what every step needs, and the tally it keeps."""

    ctx: AppContext
    client: WebClient
    sender: Sender
    settings: OutreachSettings
    now: datetime
    ws_id: int
    directory: dict[str, DirectoryEntry]
    report: RunReport = field(default_factory=RunReport)
    charts: list[PostedDigest] = field(default_factory=list)  # digests whose trend chart is still to go


@dataclass(frozen=True)
class PostedDigest:
    channel: str
    period: str  # the sends ledger's key
    digest: Digest
    ts: str  # the digest message: its chart goes into its thread


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or exc.response.status_code)


def _begin(ctx: AppContext, client: WebClient, settings: OutreachSettings, now: datetime, pacer: Pacer | None) -> Run:
    """The workspace's id here and Slack's directory, with known people's zones and status updated."""
    # An org-wide install's client names its workspace (team_id); a workspace token knows its own.
    team = str(client.default_params.get("team_id") or client.auth_test()["team_id"])
    directory = fetch_directory(client)
    ws_id = outreach.sync_directory(ctx, team, directory, now)
    sender = Sender(client, pacer or Pacer(settings.send_rate))
    return Run(ctx, client, sender, settings, now, ws_id, directory)


def run_due(
    ctx: AppContext, client: WebClient, settings: OutreachSettings, now: datetime, pacer: Pacer | None = None
) -> RunReport:
    """Send every digest, invitation and reminder due at ``now``, each at most once."""
    run = _begin(ctx, client, settings, now, pacer)
    active = []
    for sub in outreach.subscriptions(ctx, run.ws_id):
        if sub.paused_reason or not _refresh_members(run, sub):
            continue
        active.append(sub.id)
        period = outreach.digest_period_due(ctx, run.ws_id, sub, now)
        if period is not None:
            _post_digest(run, sub, period)
    _send_charts(run)
    _invite_and_remind(run, active)
    return run.report


def run_all_due(
    ctx: AppContext, tokens: TokenSource, settings: OutreachSettings, now: datetime, pacer: Pacer | None = None
) -> RunReport:
    """``run_due`` in every installed workspace, each with its own token; an uninstalled one is skipped,
    and one workspace's failure never stops the others."""
    total = RunReport()
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
    run = _begin(ctx, client, settings, now, None)
    sub = outreach.subscription(ctx, run.ws_id, channel)
    if sub is None:
        raise LookupError(f"no digest is set up for channel {channel}; run /compass digest here in it first")
    if not _refresh_members(run, sub):
        if not run.report.paused_channels:
            raise LookupError(f"the digest of channel {channel} was paused or deleted just now")
        raise RuntimeError(
            f"Slack refused the channel {channel}: {', '.join(run.report.paused_channels)}; the digest is paused"
        )
    outcome, digest = _post_digest(run, sub, f"manual:{now:%Y%m%dT%H%M%S}")
    if outcome != "sent":
        raise RuntimeError(f"the digest was not posted: {outcome}")
    _send_charts(run)
    return digest


def _refresh_members(run: Run, sub: Subscription) -> bool:
    """Store the channel's human members as the team; False (and the digest paused) when Slack refuses it."""
    try:
        members = fetch_members(run.client, sub.channel_id)
    except SlackApiError as exc:
        if _error(exc) in CHANNEL_GONE:
            _pause(run, sub, _error(exc))
            return False
        raise
    unknown = DirectoryEntry(None, False)
    # People already known were brought up to date from the directory at the start of the run.
    humans = {m: run.directory[m].tz for m in members if run.directory.get(m, unknown).active}
    return outreach.set_members(run.ctx, run.ws_id, sub.id, humans, run.now)  # False: deleted meanwhile


def _pause(run: Run, sub: Subscription, error: str) -> None:
    """Stop a digest Slack refuses, and tell the person who set it up, once."""
    if not outreach.pause_digest(run.ctx, sub.id, error):
        return  # another scheduler paused it and tells its owner
    run.report.paused_channels.append(sub.channel_id)
    log.warning("digest for %s paused: %s", sub.channel_id, error)
    key = SendKey("notice", run.ws_id, sub.created_by, f"paused:{sub.channel_id}:{run.now:%Y%m%d%H%M}")
    _send(run, key, build_paused_digest_notice(sub.channel_id, error))


def _post_digest(run: Run, sub: Subscription, period: str) -> tuple[str, Digest]:
    """Build and send one digest; a channel Slack refuses pauses the subscription."""
    digest = digests.team_digest(run.ctx, run.ws_id, sub, run.now, run.settings)
    message = build_digest_message(digest, sub.channel_id)
    key = SendKey("digest", run.ws_id, sub.channel_id, period)
    outcome, ts = _deliver(run, key, message, digest.snapshot())
    if outcome == "sent":
        run.report.digests += 1
        if digest.visible and ts:  # under the threshold: no figures, so no chart
            run.charts.append(PostedDigest(sub.channel_id, period, digest, ts))
    elif outcome in CHANNEL_GONE:
        _pause(run, sub, outcome)
    return outcome, digest


def _send_charts(run: Run) -> None:
    """Each posted digest's trend chart into its thread; whatever happens, the digests stay sent."""
    while run.charts:
        posted = run.charts.pop(0)
        try:
            send_digest_chart(
                run.client,
                run.ctx,
                run.settings,
                run.ws_id,
                posted.channel,
                posted.period,
                posted.digest,
                posted.ts,
                run.now,
            )
        except Exception:  # a chart is never worth a digest: it went out and stays recorded as sent
            log.exception("could not send the trend chart of the digest in %s", posted.channel)


def _send(run: Run, key: SendKey, message: Message, payload: dict[str, Any] | None = None) -> str:
    """Claim, post (to the key's target), record. Returns "sent", "taken" (someone else has it), or Slack's error."""
    return _deliver(run, key, message, payload)[0]


def _deliver(run: Run, key: SendKey, message: Message, payload: dict[str, Any] | None) -> tuple[str, str | None]:
    """``_send``, with the posted message's ts."""
    send_id = outreach.claim_send(run.ctx, key, run.now)
    if send_id is None:
        return "taken", None
    try:
        response = run.sender.post(key.target, message)
    except SlackApiError as exc:
        error = _error(exc)
        final = error in CHANNEL_GONE or error in USER_GONE
        log.warning("could not send %s to %s: %s%s", key.kind, key.target, error, "" if final else " (will retry)")
        run.report.failures += 1
        outreach.record_failed(run.ctx, send_id, run.now, error, final)
        return error, None
    ts = response.get("ts")
    outreach.record_sent(run.ctx, send_id, run.now, (response.get("channel"), ts), payload)
    return "sent", None if ts is None else str(ts)


def _invite_and_remind(run: Run, sub_ids: list[int]) -> None:
    due = outreach.people_due(run.ctx, run.ws_id, sub_ids, run.settings, run.now)
    run.report.skipped_outside_hours += due.outside_hours
    for item in due.messages:
        if isinstance(item, Reminder):
            message = build_reminder_message(item.assessment_id, run.ctx.bank, item.position, item.number)
            if _send(run, SendKey("reminder", run.ws_id, item.user_id, item.period), message) == "sent":
                run.report.reminders += 1
        else:
            message = build_prompt_message(item.last_completed, run.settings.cadence.days)
            if _send(run, SendKey("prompt", run.ws_id, item.user_id, item.period), message) == "sent":
                run.report.prompts += 1
